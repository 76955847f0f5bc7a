/** Small wording helpers the pages share. */
import type { Permission } from "../../../appdb";

export const PROJECT_ID = /^vlt_[0-9a-f]{64}$/;

/** A moment as `2030-01-01 12:34` (UTC). */
export const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 16);

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export const ACCESS_WORDS: Record<Permission, string> = {
  write: "read and write",
  read: "read only",
  none: "no access",
};

/** What every hidden value is shown as: the same whatever the value, so its length never shows. */
export const MASK = "••••••••";
