/**
 * The project link files, shared with the dotenv-vault CLI (PROTOCOL.md):
 * `.env.vault` holds `DOTENV_VAULT="vlt_..."` and `DOTENV_API_URL="..."`
 * (and the `DOTENV_VAULT_<ENV>` ciphertexts a build wrote, which linking
 * keeps), `.env.me` holds `DOTENV_ME=me_...`. Both are read in the working
 * directory only, as dotenv-vault does.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildEnvVault, parse, readEnvVaultSettings } from "../dotenv";
import { writeFileAtomic } from "./files";

export const LINK_FILE = ".env.vault";
export const ME_FILE = ".env.me";

export interface Link {
  projectId?: string;
  apiUrl?: string;
  /** The file's path, when it exists. */
  path?: string;
}

export function readLink(cwd: string): Link {
  const path = join(cwd, LINK_FILE);
  if (!existsSync(path)) return {};
  const settings = readEnvVaultSettings(readFileSync(path, "utf8"));
  return {
    path,
    projectId: settings.DOTENV_VAULT?.trim() || undefined,
    apiUrl: settings.DOTENV_API_URL?.trim() || undefined,
  };
}

/** `DOTENV_ME` from `.env.me`, if the file exists and holds one. */
export function readMeFile(cwd: string): string | undefined {
  const path = join(cwd, ME_FILE);
  if (!existsSync(path)) return undefined;
  return parse(readFileSync(path, "utf8")).DOTENV_ME?.trim() || undefined;
}

const SETTING = (name: string) => new RegExp(`^[ \\t]*(?:export[ \\t]+)?${name}[ \\t]*=.*$`, "m");

/**
 * The `.env.vault` text linked to `projectId` at `apiUrl`: a fresh file with
 * the settings block when there is none, else the same file with those two
 * settings replaced (or added), every other line kept.
 */
export function linkText(existing: string | undefined, projectId: string, apiUrl: string): string {
  if (existing === undefined || existing.trim() === "") {
    return buildEnvVault({ projectId, apiUrl, environments: [] });
  }
  let text = existing;
  const newline = text.includes("\r\n") ? "\r\n" : "\n";
  for (const [name, value] of [
    ["DOTENV_VAULT", projectId],
    ["DOTENV_API_URL", apiUrl],
  ] as const) {
    const line = `${name}="${value}"`;
    const re = SETTING(name);
    if (re.test(text)) text = text.replace(re, line);
    else text = `${text}${text.endsWith("\n") ? "" : newline}${line}${newline}`;
  }
  return text;
}

export function writeLink(cwd: string, projectId: string, apiUrl: string): string {
  const path = join(cwd, LINK_FILE);
  const existing = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  // A .env.vault holds only ciphertexts and settings: it is meant to be committed, so not 0600.
  writeFileAtomic(path, linkText(existing, projectId, apiUrl), 0o644);
  return path;
}

/** The lines `vault new` makes sure `.gitignore` has: every .env file ignored, except .env.vault. */
export const GITIGNORE_LINES = [".env*", "!.env.vault"] as const;

/** `.gitignore` with the lines added that it lacks; undefined when nothing is missing. */
export function gitignoreText(existing: string | undefined): string | undefined {
  const lines = (existing ?? "").split(/\r?\n/).map((l) => l.trim());
  const ignoreAt = lines.lastIndexOf(".env*");
  // Git lets the last matching line win: the exception must come after the pattern.
  const missing =
    ignoreAt === -1
      ? [...GITIGNORE_LINES]
      : lines.lastIndexOf("!.env.vault") > ignoreAt
        ? []
        : ["!.env.vault"];
  if (missing.length === 0) return undefined;
  const base = existing ?? "";
  const sep = base === "" || base.endsWith("\n") ? "" : "\n";
  return `${base}${sep}${missing.join("\n")}\n`;
}
