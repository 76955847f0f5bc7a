/** Schemas shared by several route modules. Every string and array is bounded. */
import { t } from "elysia";

export const ProjectParams = t.Object({ projectId: t.String({ pattern: "^vlt_[0-9a-f]{64}$" }) });
export const EnvParams = t.Object({
  projectId: t.String({ pattern: "^vlt_[0-9a-f]{64}$" }),
  env: t.String({ maxLength: 64 }),
});
export const VersionNumber = t.Integer({ minimum: 0, maximum: 2_147_483_647 });
/** Query strings carry numbers as text. */
export const VersionQuery = t.Optional(t.String({ pattern: "^[0-9]{1,10}$" }));
export const Confirm = t.Object({ confirm: t.String({ maxLength: 200 }) }, { additionalProperties: false });
