export { type AppDb, type AppDbConfig, type AppDrizzle, openAppDb } from "./open";
export * as schema from "./schema";
