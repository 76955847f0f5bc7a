/** The drizzle handle over app.db's schema: what every repository takes. */
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import type * as schema from "./schema";

export type AppDrizzle = LibSQLDatabase<typeof schema>;
