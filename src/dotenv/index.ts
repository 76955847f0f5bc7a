/**
 * The dotenv module's front door (README.md beside this file):
 * - parse: npm dotenv 17.x `parse`, exactly;
 * - parseDocument / render / applyChanges / serializeLayout: a file's layout
 *   without its values, rendered back byte for byte, edited key by key;
 * - formatDotenv, validateKeyName, isRepresentable: writing new files;
 * - buildEnvVault / openEnvVault / DOTENV_KEY helpers: `.env.vault` files.
 */
export { type Document, type Entry, type Item, parseDocument, render } from "./document";
export { applyChanges, type Changes, formatDotenv } from "./edit";
export { DotenvError, type DotenvErrorCode } from "./errors";
export { deserializeLayout, LAYOUT_VERSION, serializeLayout } from "./layout";
export { isRepresentable, isValidKeyName, KEY_NAME, type Style, validateKeyName } from "./quote";
export { parse } from "./scan";
export {
  buildEnvVault,
  DEFAULT_DOTENV_CLI,
  type DotenvKey,
  decryptVaultValue,
  ENV_VAULT_HEADER,
  type EnvVaultOptions,
  type EnvVaultSettings,
  encryptVaultValue,
  formatDotenvKey,
  openEnvVault,
  parseDotenvKey,
  parseDotenvKeyList,
  readEnvVaultSettings,
  type VaultEnvironment,
  vaultVariable,
} from "./vault-file";
