import type { Migration } from "../db";
import init from "./migrations/0000_init.sql" with { type: "text" };

/** Every migration of app.db, in order. The compiled binary embeds them as text. */
export const migrations: readonly Migration[] = [{ name: "0000_init", sql: init }];
