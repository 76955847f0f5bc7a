/**
 * Which audit events a webhook can receive, and the body of a delivery.
 *
 * The body holds ids, version numbers and names (of the project, the environment and the keys
 * that changed), and who did it; never a value. A version's key names come from the version's
 * own summary in app.db (authenticated with the snapshot, and immutable), not from the audit
 * detail, which keeps counts only: the audit log does not grow with the size of a push.
 */
import type { AuditRow } from "../../../appdb";

export const WEBHOOK_EVENTS = [
  "version.created",
  "version.rollback",
  "dotenv_key.rotated",
  "member.added",
  "member.removed",
  "member.changed",
  "token.created",
  "token.revoked",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type DeliveryType = WebhookEvent | "ping";

/** Audit action -> webhook event. Anything else (reads, sign-ins, ...) is never delivered. */
const BY_ACTION: Record<string, WebhookEvent> = {
  "secrets.push": "version.created",
  "secrets.merge": "version.created",
  "secrets.set": "version.created",
  "secrets.unset": "version.created",
  "secrets.rollback": "version.rollback",
  "dotenv_key.rotate": "dotenv_key.rotated",
  "member.add": "member.added",
  "member.remove": "member.removed",
  "member.grant": "member.changed",
  "token.create": "token.created",
  "token.revoke": "token.revoked",
};

/** Every audit action that maps to a webhook event. */
export const DELIVERABLE_ACTIONS: readonly string[] = Object.freeze(Object.keys(BY_ACTION));

export function eventOf(action: string): WebhookEvent | undefined {
  return Object.hasOwn(BY_ACTION, action) ? BY_ACTION[action] : undefined;
}

export interface Keys {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface DeliveryBody {
  id: string;
  type: DeliveryType;
  createdAt: string;
  project: { id: string; name: string };
  environment: { id: string; name: string } | null;
  version: number | null;
  previousVersion: number | null;
  keys: Keys | null;
  actor: { kind: string; id: string | null; label: string | null } | null;
  /** version.created: push, merge, set or unset. */
  change?: string;
  /** A version made by approving a change request: its number and author (the actor approved it). */
  request?: { number: number; author: string | null };
  member?: { userId: string | null; email?: string; role?: string };
  token?: { id: string | null; name: string | null };
}

/** What the dispatcher knows about an event's project and environment when it builds a body. */
export interface BodyContext {
  project: { id: string; name: string };
  environment: { id: string; name: string } | null;
  /** The version's summary (key names), when the event made a version. */
  keys: Keys | null;
}

function detailOf(row: AuditRow): Record<string, unknown> {
  if (!row.detail) return {};
  try {
    const v = JSON.parse(row.detail) as unknown;
    return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** The version number an event made, if any. */
export function versionOf(row: AuditRow): number | null {
  const v = detailOf(row).version;
  return typeof v === "number" && Number.isSafeInteger(v) ? v : null;
}

export function bodyOf(id: string, type: WebhookEvent, row: AuditRow, ctx: BodyContext): DeliveryBody {
  const detail = detailOf(row);
  const version = versionOf(row);
  const body: DeliveryBody = {
    id,
    type,
    createdAt: new Date(row.at).toISOString(),
    project: ctx.project,
    environment: ctx.environment,
    version: type.startsWith("version.") ? version : null,
    previousVersion: type.startsWith("version.") && version !== null && version > 1 ? version - 1 : null,
    keys: type.startsWith("version.") ? ctx.keys : null,
    actor: { kind: row.actorKind, id: row.actorId, label: row.actorLabel },
  };
  if (type === "version.created") body.change = row.action.slice("secrets.".length);
  if (type.startsWith("version.") && typeof detail.request === "number")
    body.request = { number: detail.request, author: str(detail.author) };
  if (type.startsWith("member.")) {
    body.member = {
      userId: str(detail.userId),
      ...(typeof detail.email === "string" ? { email: detail.email } : {}),
      ...(typeof detail.role === "string" ? { role: detail.role } : {}),
    };
  }
  if (type.startsWith("token.")) body.token = { id: str(detail.id), name: str(detail.name) };
  return body;
}

export function pingBody(id: string, at: number, project: { id: string; name: string }): DeliveryBody {
  return {
    id,
    type: "ping",
    createdAt: new Date(at).toISOString(),
    project,
    environment: null,
    version: null,
    previousVersion: null,
    keys: null,
    actor: null,
  };
}
