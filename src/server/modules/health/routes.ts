import { Elysia } from "elysia";

export interface HealthDeps {
  appdb: { health(): Promise<boolean> };
  keeper: { health(): Promise<{ ok: boolean }> };
}

/** `/healthz`: the process answers. `/readyz`: app.db and the keeper are reachable. */
export function healthRoutes({ appdb, keeper }: HealthDeps) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", async ({ set }) => {
      const [db, kept] = await Promise.all([
        appdb.health(),
        keeper.health().then(
          (h) => h.ok,
          () => false,
        ),
      ]);
      const ready = db && kept;
      set.status = ready ? 200 : 503;
      return { status: ready ? "ready" : "not ready", checks: { appDb: db, keeper: kept } };
    });
}
