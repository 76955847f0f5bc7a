import { defineConfig } from "drizzle-kit";

// Generates src/appdb/migrations/*.sql from the schema: `bunx drizzle-kit generate --config drizzle.app.config.ts`,
// then list the new file in src/appdb/migrations.ts (the binary embeds them as text).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/appdb/schema.ts",
  out: "./src/appdb/migrations",
});
