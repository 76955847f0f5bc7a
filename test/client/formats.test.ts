import { describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ExportError, formatExport, k8sName, shellQuote, yamlQuote } from "../../src/client";
import { parse as parseDotenv } from "../../src/dotenv";

/** Values that break naive quoting in one consumer or another. */
const HOSTILE: Record<string, string> = {
  SINGLE: "it's a 'quoted' value",
  DOUBLE: 'say "hello" \\"escaped\\"',
  SUBST: "$(touch /tmp/vault-pwned) and `touch /tmp/vault-pwned2`",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, on purpose.
  VARS: "$HOME ${PATH} $$ $1 !! !",
  NEWLINES: "line one\nline two\n\nline four\n",
  CRLF: "a\r\nb",
  TABS: "\tindented\t",
  SPACES: "  leading and trailing  ",
  BACKSLASH: "C:\\path\\to\\file \\n not a newline",
  HASH: "value # not a comment",
  EQUALS: "a=b=c",
  EMPTY: "",
  UNICODE: "héllo wörld ✓ 日本 🚀",
  YAML_LOOKS: "yes",
  YAML_NUM: "0o17",
  YAML_NULL: "~",
  YAML_DOC: "---\n- not: a list\n...",
  CONTROL: "bell\u0007 del\u007f nel\u0085 ls\u2028 bom\ufeff",
  PEM: "-----BEGIN KEY-----\nMIIB+/=\n-----END KEY-----",
};

describe("shellQuote", () => {
  it("quotes every hostile value so that bash reads back exactly that value", () => {
    for (const [name, value] of Object.entries(HOSTILE)) {
      const out = spawnSync("bash", ["-c", `printf '%s' ${shellQuote(value)}`], { encoding: "utf8" });
      expect(out.status).toBe(0);
      expect(out.stdout, name).toBe(value);
    }
  });
});

describe("formatExport", () => {
  it("shell: sourced by bash -c, every variable holds its exact value and nothing runs", () => {
    const values = Object.fromEntries(Object.entries(HOSTILE).filter(([k]) => k !== "CONTROL"));
    const script = formatExport("shell", values);
    const names = Object.keys(values);
    // Print each variable NUL-separated after eval'ing the export lines.
    const probe = `${script}\nfor n in ${names.join(" ")}; do printf '%s\\0' "\${!n}"; done`;
    const out = spawnSync("bash", ["-c", probe], { encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(out.status).toBe(0);
    expect(out.stderr).toBe("");
    const read = out.stdout.split("\0").slice(0, -1);
    expect(Object.fromEntries(names.map((n, i) => [n, read[i]]))).toEqual(values);
    expect(existsSync("/tmp/vault-pwned")).toBe(false);
  });

  it("shell: a name that is not a shell variable is refused, by name", () => {
    expect(() => formatExport("shell", { "my.key": "v", OK: "w" })).toThrow(ExportError);
    let message = "";
    try {
      formatExport("shell", { "my.key": "secret-value" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("my.key");
    expect(message).not.toContain("secret-value");
  });

  it("yaml: a real YAML parser reads back exactly the values", () => {
    const text = formatExport("yaml", HOSTILE);
    expect(parseYaml(text)).toEqual(HOSTILE);
    expect(parseYaml(formatExport("yaml", {}))).toEqual({});
  });

  it("yaml: the output is printable ASCII, so YAML 1.1 parsers see no line break inside a value", () => {
    expect(formatExport("yaml", HOSTILE)).toMatch(/^[\x20-\x7e\n]*$/);
    expect(yamlQuote("a\u2028b")).toBe('"a\\u2028b"');
    expect(yamlQuote("🚀")).toBe('"\\U0001f680"');
  });

  it("json: JSON.parse reads back exactly the values", () => {
    expect(JSON.parse(formatExport("json", HOSTILE))).toEqual(HOSTILE);
  });

  it("dotenv: src/dotenv's parser (npm dotenv's rules) reads back exactly the values", () => {
    const values = Object.fromEntries(Object.entries(HOSTILE).filter(([k]) => k !== "CRLF"));
    expect(parseDotenv(formatExport("dotenv", values))).toEqual(values);
  });

  it("docker: one NAME=value line each, read literally", () => {
    const out = formatExport("docker", { A: "x y", B: "it's $HOME", C: "" });
    expect(out).toBe("A=x y\nB=it's $HOME\nC=\n");
  });

  it("docker: a value with a line break is refused, naming the key and not the value", () => {
    let message = "";
    try {
      formatExport("docker", { OK: "1", PEM: HOSTILE.PEM!, CR: "a\rb" });
    } catch (error) {
      expect(error).toBeInstanceOf(ExportError);
      message = (error as Error).message;
    }
    expect(message).toContain("PEM");
    expect(message).toContain("CR");
    expect(message).not.toContain("BEGIN");
  });

  it("k8s: a v1 Secret whose base64 data decodes to the values", () => {
    const text = formatExport("k8s", HOSTILE, { name: "My App/Production", namespace: "team-a" });
    const doc = parseYaml(text) as {
      apiVersion: string;
      kind: string;
      type: string;
      metadata: { name: string; namespace: string };
      data: Record<string, string>;
    };
    expect(doc.apiVersion).toBe("v1");
    expect(doc.kind).toBe("Secret");
    expect(doc.type).toBe("Opaque");
    expect(doc.metadata).toEqual({ name: "my-app-production", namespace: "team-a" });
    const decoded = Object.fromEntries(
      Object.entries(doc.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
    expect(decoded).toEqual(HOSTILE);
  });

  it("k8s: names become DNS-1123 names", () => {
    expect(k8sName("vault-development")).toBe("vault-development");
    expect(k8sName("__Weird Name!!")).toBe("weird-name");
    expect(k8sName("***")).toBe("vault-secret");
  });
});
