/**
 * Builds the one executable: `bun scripts/compile.ts [--outfile PATH] [--target linux-x64|linux-arm64]`.
 *
 * What it relies on, and asserts (each failure stops the build with a reason):
 *
 * - libsql loads its native addon with `require(\`@libsql/${target}\`)`, a name
 *   computed at run time, so the bundler would not embed it and the binary
 *   would only work next to a node_modules. The plugin makes
 *   src/db/embedded-addon.ts import the target's `.node` file (which embeds
 *   it and names its place in the binary) and rewrites libsql's
 *   `requireNative()` to load it from there, or from the copy `vault serve`
 *   unpacks into the data directory (src/db/addon.ts). The pattern must be
 *   found, the package must be installed, and the metafile must show both
 *   libsql and the addon in the bundle. The smoke test checks that
 *   `unpack-addon` writes the addon byte for byte.
 * - Ink imports the optional `react-devtools-core` (only used when DEV=true);
 *   marking it external kills the binary at start, so it resolves to a stub.
 * - The binary must not read `.env` or `bunfig.toml` from its working
 *   directory (a secrets tool picking up stray configuration).
 * - `bytecode` + ESM halve the start-up time. The binary is never stripped:
 *   that would drop the embedded program.
 *
 * The artifact is built in a scratch directory, copied alone into a fresh
 * temporary directory outside the repository (where no node_modules can hide a
 * packaging bug), run there (`--version`, `--help`, `selftest`, `unpack-addon`), and only then
 * moved to its place, with `<outfile>.sha256` (sha256sum format) beside it.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import type { BunPlugin } from "bun";
import { ADDON_ENV } from "../src/db/addon";

const ROOT = resolve(import.meta.dir, "..");
const ENTRY = join(ROOT, "src/main.ts");

type Target = "linux-x64" | "linux-arm64";
const TARGETS: Record<
  Target,
  { libsql: string; bun: Bun.Build.CompileTarget; elfMachine: number; arch: string }
> = {
  "linux-x64": { libsql: "@libsql/linux-x64-gnu", bun: "bun-linux-x64", elfMachine: 0x3e, arch: "x64" },
  "linux-arm64": {
    libsql: "@libsql/linux-arm64-gnu",
    bun: "bun-linux-arm64",
    elfMachine: 0xb7,
    arch: "arm64",
  },
};

export class CompileError extends Error {}

function fail(message: string): never {
  throw new CompileError(message);
}

function step(message: string): void {
  process.stderr.write(`compile: ${message}\n`);
}

function hostTarget(): Target {
  const host = `${platform()}-${arch()}`;
  if (host === "linux-x64" || host === "linux-arm64") return host;
  fail(`unsupported host ${host}: pass --target linux-x64 or --target linux-arm64`);
}

const USAGE = "usage: bun scripts/compile.ts [--outfile PATH] [--target linux-x64|linux-arm64]";

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      outfile: { type: "string" },
      target: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: true,
  });
}

function parseCli(argv: string[]): { outfile: string; target: Target } {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (positionals.length > 0) fail(`unexpected argument "${positionals[0]}"`);
  const target = values.target ?? hostTarget();
  if (!(target in TARGETS)) fail(`--target: "${target}" is not linux-x64 or linux-arm64`);
  return { outfile: resolve(values.outfile ?? join(ROOT, "dist/vault")), target: target as Target };
}

/** The platform package's addon, resolved from libsql's own directory as its require would be. */
function findAddon(pkg: string, target: Target): string {
  const libsqlDir = dirname(Bun.resolveSync("libsql", ROOT));
  let manifest: string;
  try {
    manifest = Bun.resolveSync(`${pkg}/package.json`, libsqlDir);
  } catch {
    fail(
      `the libsql addon for ${target} is not installed (${pkg} is missing from node_modules): ` +
        `bun installs only the host's by default. Run: bun install --frozen-lockfile --os=linux ` +
        `--cpu=${TARGETS[target].arch}, then compile again`,
    );
  }
  const main = (JSON.parse(readFileSync(manifest, "utf8")) as { main?: string }).main ?? "index.node";
  const addon = join(dirname(manifest), main);
  if (!existsSync(addon)) fail(`${pkg} is installed but its addon ${addon} is missing`);
  return addon;
}

interface PluginReport {
  libsqlPatched: boolean;
  devtoolsStubbed: boolean;
  addonPathEmbedded: boolean;
}

const EMBEDDED_ADDON_MODULE = join(ROOT, "src/db/embedded-addon.ts");

// libsql's requireNative() picks `@libsql/<target>` at run time; we keep its
// shape under check so that an upgrade that changes it fails here, not in production.
const REQUIRE_NATIVE = /function requireNative\(\) \{\n[\s\S]*?\n\}\n/;
// biome-ignore lint/suspicious/noTemplateCurlyInString: libsql's source text, not one of our templates
const DYNAMIC_REQUIRE = "return require(`@libsql/${target}`);";

/**
 * libsql's index.js with requireNative() replaced: it loads the unpacked addon
 * named by VAULT_LIBSQL_ADDON (src/db/addon.ts) when set, and the embedded one,
 * named by src/db/embedded-addon.ts, otherwise, or when the unpacked file does
 * not load (removed behind a running server, say). process.dlopen, not require:
 * require of a path outside the binary builds the module resolver's caches
 * (about 1.8 MB per process).
 */
export function rewriteLibsql(source: string, path = "libsql/index.js"): string {
  const matches = source.match(new RegExp(REQUIRE_NATIVE, "g")) ?? [];
  if (matches.length !== 1 || !matches[0]!.includes(DYNAMIC_REQUIRE)) {
    fail(
      `${path}: libsql's requireNative() is not the expected shape ` +
        `(found ${matches.length} definition(s); expected one containing ${DYNAMIC_REQUIRE}). ` +
        "libsql changed: update the rewrite in scripts/compile.ts",
    );
  }
  return source.replace(
    REQUIRE_NATIVE,
    "function requireNative() {\n" +
      `  const unpacked = process.env.${ADDON_ENV};\n` +
      "  if (unpacked) {\n" +
      "    try {\n" +
      "      const addon = { exports: {} };\n" +
      "      process.dlopen(addon, unpacked);\n" +
      "      return addon.exports;\n" +
      "    } catch {}\n" +
      "  }\n" +
      `  return require(require(${JSON.stringify(EMBEDDED_ADDON_MODULE)}).embeddedAddon);\n}\n`,
  );
}

function vaultPlugin(addon: string, report: PluginReport): BunPlugin {
  return {
    name: "vault-compile",
    setup(build) {
      // Embeds the target's addon and names its place in the binary, where requireNative() finds it.
      build.onLoad({ filter: /[\\/]src[\\/]db[\\/]embedded-addon\.ts$/ }, (args) => {
        if (resolve(args.path) !== EMBEDDED_ADDON_MODULE) return undefined;
        report.addonPathEmbedded = true;
        return {
          contents:
            `import addon from ${JSON.stringify(addon)} with { type: "file" };\n` +
            "export const embeddedAddon = addon;\n",
          loader: "js",
        };
      });
      build.onLoad({ filter: /[\\/]node_modules[\\/]libsql[\\/]index\.js$/ }, (args) => {
        const contents = rewriteLibsql(readFileSync(args.path, "utf8"), args.path);
        report.libsqlPatched = true;
        return { contents, loader: "js" };
      });
      build.onResolve({ filter: /^react-devtools-core$/ }, () => {
        report.devtoolsStubbed = true;
        return { path: "react-devtools-core", namespace: "vault-stub" };
      });
      build.onLoad({ filter: /.*/, namespace: "vault-stub" }, () => ({
        contents: "export default { initialize() {}, connectToDevTools() {} };\n",
        loader: "js",
      }));
    },
  };
}

function gitCommit(): string {
  const out = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  const sha = out.status === 0 ? out.stdout.trim() : "";
  return /^[0-9a-f]{4,40}$/.test(sha) ? sha : "unknown";
}

function elfMachine(path: string): number {
  const fd = openSync(path, "r");
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46) fail(`${path} is not an ELF executable`);
    return header.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep));
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runIn(dir: string, args: string[]): Ran {
  // A bare environment: nothing from the build (or a node_modules path) leaks in.
  const env = { PATH: "/usr/bin:/bin", HOME: dir, TMPDIR: dir, LANG: "C.UTF-8" };
  const out = spawnSync(join(dir, "vault"), args, { cwd: dir, env, encoding: "utf8", timeout: 30_000 });
  if (out.error) fail(`running ./vault ${args.join(" ")}: ${out.error.message}`);
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

function expectRun(dir: string, args: string[], check: (r: Ran) => string | undefined): Ran {
  const ran = runIn(dir, args);
  const problem = ran.status !== 0 ? `exit code ${ran.status}` : check(ran);
  if (problem) {
    fail(
      `./vault ${args.join(" ")} (in ${dir}): ${problem}\n--- stdout\n${ran.stdout}--- stderr\n${ran.stderr}`,
    );
  }
  return ran;
}

/** Runs the binary copied alone into a fresh directory outside the repository. */
function smoke(binary: string, version: string, commit: string, addon: string): void {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "vault-compile-")));
  if (isInside(dir, ROOT))
    fail(`the temporary directory ${dir} is inside the repository; set TMPDIR elsewhere`);
  try {
    copyFileSync(binary, join(dir, "vault"));
    chmodSync(join(dir, "vault"), 0o755);
    const expected = `vault ${version} (${commit})\n`;
    expectRun(dir, ["--version"], (r) =>
      r.stdout === expected
        ? undefined
        : `printed ${JSON.stringify(r.stdout)}, expected ${JSON.stringify(expected)}`,
    );
    expectRun(dir, ["--help"], (r) => (r.stdout.includes("Usage: vault") ? undefined : "no usage in --help"));
    const self = runIn(dir, ["selftest"]);
    if (self.status !== 0) {
      const missing = /unknown command "selftest"/.test(self.stderr);
      fail(
        missing
          ? "the binary has no `selftest` command: add its entry to COMMANDS in src/cli.ts " +
              '(run: async (ctx) => (await import("./commands/selftest")).selftest(ctx), hidden: true)'
          : `./vault selftest (in ${dir}) failed with exit code ${self.status}\n${self.stdout}${self.stderr}`,
      );
    }
    for (const line of self.stdout.trim().split("\n")) step(`  ${line}`);
    // `vault serve` unpacks the addon with this command before its children start.
    const want = sha256(addon);
    expectRun(dir, ["unpack-addon", join(dir, "lib")], (r) =>
      r.stdout.includes(`sha256 ${want}`) && sha256(join(dir, "lib", "libsql.node")) === want
        ? undefined
        : `did not unpack the addon ${addon} byte for byte: ${JSON.stringify(r.stdout)}`,
    );
    step("  unpack-addon: the addon unpacks byte for byte");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const { outfile, target } = parseCli(process.argv.slice(2));
  const spec = TARGETS[target];
  const host = hostTarget();
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const commit = gitCommit();

  const addon = findAddon(spec.libsql, target);
  step(`building vault ${pkg.version} (${commit}) for ${target}, libsql addon ${spec.libsql}`);

  // Build into a scratch directory next to the artifact, so that a failed
  // build or smoke test never leaves a half-checked binary at `outfile`.
  mkdirSync(dirname(outfile), { recursive: true });
  const scratch = mkdtempSync(join(dirname(outfile), ".build-"));
  try {
    const built = join(scratch, basename(outfile));
    const report: PluginReport = { libsqlPatched: false, devtoolsStubbed: false, addonPathEmbedded: false };
    const result = await Bun.build({
      entrypoints: [ENTRY],
      compile: {
        outfile: built,
        autoloadDotenv: false,
        autoloadBunfig: false,
        autoloadTsconfig: false,
        autoloadPackageJson: false,
        ...(target === host ? {} : { target: spec.bun }),
      },
      target: "bun",
      format: "esm",
      bytecode: true,
      // keepNames: error classes and Elysia's handlers keep readable names.
      minify: { whitespace: true, syntax: true, identifiers: true, keepNames: true },
      sourcemap: "none",
      metafile: true,
      define: { VAULT_VERSION: JSON.stringify(pkg.version), VAULT_COMMIT: JSON.stringify(commit) },
      plugins: [vaultPlugin(addon, report)],
      throw: false,
    });
    if (!result.success) {
      fail(`Bun.build failed:\n${result.logs.map((l) => `  ${String(l)}`).join("\n")}`);
    }

    const inputs = Object.keys(result.metafile?.inputs ?? {}).map((p) => resolve(ROOT, p));
    const libsqlIndex = realpathSync(Bun.resolveSync("libsql", ROOT));
    if (!inputs.some((p) => p === libsqlIndex || p.endsWith("/node_modules/libsql/index.js"))) {
      fail(
        "libsql is not in the bundle: nothing reachable from src/main.ts imports src/db " +
          '(commands are imported with `await import("./commands/...")`; check COMMANDS in src/cli.ts)',
      );
    }
    if (!report.libsqlPatched) fail("libsql/index.js was bundled without passing through the rewrite");
    if (!report.addonPathEmbedded) fail(`${EMBEDDED_ADDON_MODULE} was bundled without naming the addon`);
    const addonReal = realpathSync(addon);
    if (
      !inputs.some((p) => p.endsWith(".node") && (p === addon || p === addonReal || p.includes(spec.libsql)))
    ) {
      fail(`the addon ${addon} is not in the bundle's inputs: the static require did not embed it`);
    }

    if (inputs.some((p) => p.includes("/node_modules/ink/")) && !report.devtoolsStubbed) {
      fail("Ink is in the bundle but react-devtools-core did not go through the stub");
    }

    if (!existsSync(built)) fail(`Bun.build reported success but ${built} does not exist`);
    const mode = statSync(built).mode;
    if ((mode & 0o111) === 0) fail(`${built} is not executable (mode ${(mode & 0o777).toString(8)})`);
    const machine = elfMachine(built);
    if (machine !== spec.elfMachine) {
      fail(`${built} is for ELF machine 0x${machine.toString(16)}, not ${target}`);
    }
    const buildMs = performance.now() - started;

    if (target === host) {
      const t0 = performance.now();
      smoke(built, pkg.version, commit, addon);
      step(`smoke test passed outside the repository in ${Math.round(performance.now() - t0)} ms`);
    } else {
      step(`WARNING: a ${target} binary cannot run on this ${host} host: built and checked, NOT run`);
    }

    renameSync(built, outfile);
    const sumFile = `${outfile}.sha256`;
    writeFileSync(sumFile, `${sha256(outfile)}  ${basename(outfile)}\n`);

    const size = statSync(outfile).size;
    const display = isInside(outfile, ROOT) ? relative(ROOT, outfile) : outfile;
    step(
      `ok: ${display} ${(size / 1024 / 1024).toFixed(1)} MB, built in ${(buildMs / 1000).toFixed(1)} s, ` +
        `total ${((performance.now() - started) / 1000).toFixed(1)} s; checksum in ${basename(sumFile)}`,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    if (error instanceof CompileError) {
      process.stderr.write(`compile: error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
