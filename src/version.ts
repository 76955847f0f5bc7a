// Replaced at compile time by scripts/compile.ts through `define`; the fallback serves `bun src/main.ts`.
declare const VAULT_VERSION: string | undefined;
declare const VAULT_COMMIT: string | undefined;

export const version: string = typeof VAULT_VERSION === "string" ? VAULT_VERSION : "0.1.0-dev";
export const commit: string = typeof VAULT_COMMIT === "string" ? VAULT_COMMIT : "unknown";
