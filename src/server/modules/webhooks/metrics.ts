/** The webhook deliveries on /metrics: counts by state, read at scrape time (no name, id or URL). */
import type { AppDb } from "../../../appdb";
import type { Metrics } from "../../metrics";

export function webhookGauges(registry: Metrics, appdb: Pick<AppDb, "webhooks">): void {
  let counts = { pending: 0, delivered: 0, failed: 0 };
  registry.beforeRender(async () => {
    try {
      counts = await appdb.webhooks.counts();
    } catch {
      // app.db unreachable: /readyz says so; the last counts stand.
    }
  });
  registry.gauge(
    "vault_webhook_deliveries",
    "Webhook deliveries in the log, by state (pending: queued or retrying)",
    () => (["pending", "delivered", "failed"] as const).map((state) => [{ state }, counts[state]] as const),
  );
}
