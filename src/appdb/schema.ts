/**
 * app.db: names, people and history. Never a value: values live in the
 * keeper, referenced by `ref`. The aggregates (users, projects, environments,
 * memberships, tokens, versions, audit) arrive with the application issue;
 * `meta` records facts about the instance itself.
 */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
