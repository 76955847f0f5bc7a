/**
 * `vault export` formats, each written for the consumer that reads it back:
 *
 * - dotenv: src/dotenv's writer (quoted so npm dotenv reads each value back);
 * - json:   one object, `JSON.parse` gives the values back;
 * - yaml:   a mapping of double-quoted scalars, escaped down to printable
 *           ASCII so every YAML 1.1 and 1.2 parser reads the same string;
 * - shell:  `export NAME='value'` lines for `eval` or `source`: inside single
 *           quotes nothing expands, and a quote is written `'\''`;
 * - docker: `NAME=value` lines for `docker run --env-file`, which takes the
 *           rest of the line literally: no quoting exists, so a value with a
 *           line break cannot be written and is refused;
 * - k8s:    a `v1/Secret` manifest with base64 `data`.
 *
 * Failures name keys, never values.
 */

import { formatDotenv } from "../dotenv";
import { EXIT, EXIT_CODE } from "../exit-codes";

export const EXPORT_FORMATS = ["dotenv", "json", "yaml", "shell", "docker", "k8s"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export class ExportError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "ExportError";
  }

  readonly [EXIT_CODE] = EXIT.failure;
}

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A shell word that is exactly `value`: single quotes, each `'` closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A YAML double-quoted scalar holding exactly `value`, in printable ASCII. */
export function yamlQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c <= 0xffff) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += `\\U${c.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}

function refuse(names: string[], what: string, hint: string): never {
  const shown = names.slice(0, 10).join(", ") + (names.length > 10 ? `, and ${names.length - 10} more` : "");
  throw new ExportError(`${what}: ${shown}`, hint);
}

/** A Kubernetes object name (DNS-1123 subdomain) made from free text. */
export function k8sName(text: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
    .slice(0, 253)
    .replace(/[^a-z0-9]+$/, "");
  return name === "" ? "vault-secret" : name;
}

export function formatExport(
  format: ExportFormat,
  values: Readonly<Record<string, string>>,
  options: { name?: string; namespace?: string } = {},
): string {
  const entries = Object.entries(values);
  switch (format) {
    case "dotenv":
      return entries.length === 0 ? "" : formatDotenv(values);
    case "json":
      return `${JSON.stringify(values, null, 2)}\n`;
    case "yaml":
      return entries.length === 0
        ? "{}\n"
        : entries.map(([k, v]) => `${yamlQuote(k)}: ${yamlQuote(v)}\n`).join("");
    case "shell": {
      const bad = entries.filter(([k]) => !SHELL_NAME.test(k)).map(([k]) => k);
      if (bad.length > 0) {
        refuse(
          bad,
          "these names are not shell variable names",
          "a shell variable is letters, digits and _; use --format dotenv or json for these",
        );
      }
      return entries.map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join("");
    }
    case "docker": {
      const bad = entries.filter(([, v]) => /[\r\n]/.test(v)).map(([k]) => k);
      if (bad.length > 0) {
        refuse(
          bad,
          "docker --env-file cannot hold a value with a line break",
          "docker reads each line literally, with no quoting; use --format k8s or json, or pass these with -e",
        );
      }
      return entries.map(([k, v]) => `${k}=${v}\n`).join("");
    }
    case "k8s": {
      const name = k8sName(options.name ?? "vault-secret");
      const lines = [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        `  name: ${name}`,
        ...(options.namespace ? [`  namespace: ${k8sName(options.namespace)}`] : []),
        "type: Opaque",
      ];
      if (entries.length === 0) lines.push("data: {}");
      else {
        lines.push("data:");
        for (const [k, v] of entries)
          lines.push(`  ${yamlQuote(k)}: "${Buffer.from(v, "utf8").toString("base64")}"`);
      }
      return `${lines.join("\n")}\n`;
    }
  }
}
