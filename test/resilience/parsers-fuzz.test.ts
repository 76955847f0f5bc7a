/**
 * Hostile input to the parsers and openers that read what others wrote
 * (fast-check; FUZZ_RUNS per property, default 300 here because each case
 * is cheap):
 *
 * - the envelope opener, on arbitrary bytes and on a real envelope with
 *   bytes flipped, cut or appended: only a KeeperError with a named code,
 *   never plaintext from a tampered envelope;
 * - DOTENV_KEY parsing and `.env.vault` opening: only a DotenvError;
 * - the dotenv parser and the document model: never a crash, and a parsed
 *   document renders back byte for byte.
 */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import {
  buildEnvVault,
  DotenvError,
  openEnvVault,
  parse,
  parseDocument,
  parseDotenvKey,
  parseDotenvKeyList,
  readEnvVaultSettings,
  render,
} from "../../src/dotenv";
import { KeeperError } from "../../src/vault";
import { open, seal } from "../../src/vault/envelope";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = { numRuns: RUNS, seed: SEED };

const OPEN_CODES = new Set(["UNKNOWN_VERSION", "UNKNOWN_TERM", "INTEGRITY", "TRUNCATED", "BAD_REF"]);

function keeperRefusal(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof KeeperError)) throw error;
    expect(OPEN_CODES.has(error.code)).toBe(true);
    return error.code;
  }
}

function dotenvRefusal(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof DotenvError)) throw error;
    expect(error.code).toMatch(/^[A-Z_]+$/);
  }
}

describe("hostile input: the envelope opener", () => {
  const key = new Uint8Array(randomBytes(32));
  const lookup = (term: number) => (term === 7 ? key : undefined);

  it("arbitrary bytes under any ref fail with a named KeeperError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 20 }), (blob, ref) => {
        const code = keeperRefusal(() => open(lookup, ref, blob));
        expect(code).toBeDefined();
      }),
      params,
    );
  });

  it("a real envelope with bytes flipped, cut or appended never opens", () => {
    const ref = new Uint8Array(randomBytes(16));
    const value = new TextEncoder().encode("the secret value");
    const sealed = seal(key, 7, ref, value, (n) => new Uint8Array(randomBytes(n)));
    expect(new TextDecoder().decode(open(lookup, ref, sealed))).toBe("the secret value");
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.nat({ max: sealed.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
            const b = new Uint8Array(sealed);
            b[i]! ^= x;
            return b;
          }),
          fc.nat({ max: sealed.length - 1 }).map((n) => sealed.slice(0, n)),
          fc.uint8Array({ minLength: 1, maxLength: 32 }).map((tail) => new Uint8Array([...sealed, ...tail])),
        ),
        fc.boolean(),
        (blob, otherRef) => {
          const r = otherRef ? new Uint8Array(randomBytes(16)) : ref;
          expect(keeperRefusal(() => open(lookup, r, blob))).toBeDefined();
        },
      ),
      params,
    );
  });
});

const keyish = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc
    .tuple(
      fc.constantFrom("dotenv", "http", "", "javascript", "file"),
      fc.string({ maxLength: 80 }),
      fc.stringMatching(/^[0-9a-fA-F]{0,70}$/),
      fc.string({ maxLength: 30 }),
    )
    .map(([scheme, host, hex, env]) => `${scheme}://:key_${hex}@${host}/vault/.env.vault?environment=${env}`),
);

describe("hostile input: DOTENV_KEY and .env.vault", () => {
  it("DOTENV_KEY parsing refuses with DotenvError only", () => {
    fc.assert(
      fc.property(keyish, fc.array(keyish, { maxLength: 4 }), (one, many) => {
        dotenvRefusal(() => parseDotenvKey(one));
        dotenvRefusal(() => parseDotenvKeyList(many.join(",")));
      }),
      params,
    );
  });

  it("opening arbitrary text, or a real .env.vault with a hostile key or a damaged line, fails with DotenvError only", () => {
    const key32 = new Uint8Array(randomBytes(32));
    const real = buildEnvVault({
      projectId: `vlt_${"a".repeat(64)}`,
      apiUrl: "https://vault.example",
      environments: [{ name: "development", version: 3, plaintext: "A=1\nB=two\n", key32 }],
    });
    const goodKey = `dotenv://:key_${Buffer.from(key32).toString("hex")}@vault.example/vault/.env.vault?environment=development`;
    expect(openEnvVault(real, goodKey)).toEqual({ A: "1", B: "two" });
    const damaged = fc
      .tuple(fc.nat({ max: real.length - 1 }), fc.string({ minLength: 1, maxLength: 4 }))
      .map(([i, s]) => real.slice(0, i) + s + real.slice(i + 1));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 500 }), damaged),
        fc.oneof(keyish, fc.constant(goodKey)),
        (text, key) => {
          dotenvRefusal(() => openEnvVault(text, key));
          dotenvRefusal(() => readEnvVaultSettings(text));
        },
      ),
      params,
    );
  });
});

/** Text that looks like a .env file often enough to reach the parser's corners. */
const dotenvText = fc.oneof(
  fc.string({ maxLength: 300, unit: "binary" }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          "A=1",
          "export B='x'",
          'C="multi\nline"',
          "# comment",
          "",
          "D=`tick`",
          "E= spaced ",
          "\r",
          "=",
        ),
        fc.string({ maxLength: 30 }),
        fc
          .tuple(
            fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/),
            fc.constantFrom("=", " = ", ": "),
            fc.string({ maxLength: 20 }),
          )
          .map(([k, eq, v]) => `${k}${eq}${v}`),
      ),
      { maxLength: 12 },
    )
    .chain((lines) => fc.constantFrom("\n", "\r\n").map((nl) => lines.join(nl))),
);

describe("hostile input: the dotenv parser", () => {
  it("parse never throws and returns only strings", () => {
    fc.assert(
      fc.property(dotenvText, (text) => {
        const out = parse(text);
        for (const v of Object.values(out)) expect(typeof v).toBe("string");
      }),
      params,
    );
  });

  it("a document that parses renders back byte for byte", () => {
    fc.assert(
      fc.property(dotenvText, (text) => {
        let doc: ReturnType<typeof parseDocument>;
        try {
          doc = parseDocument(text);
        } catch (error) {
          if (error instanceof DotenvError) return;
          throw error;
        }
        expect(render(doc, parse(text))).toBe(text);
      }),
      params,
    );
  });
});
