import { describe, expect, it } from "bun:test";
import dotenv from "dotenv";
import fc from "fast-check";
import {
  applyChanges,
  type Changes,
  DotenvError,
  deserializeLayout,
  formatDotenv,
  isRepresentable,
  parse,
  parseDocument,
  render,
  serializeLayout,
} from "../../src/dotenv";
import { assertProperty, dotenvText, FUZZ_TIMEOUT_MS, fuzzRuns, HAND_CASES, newValue, show } from "./corpus";

/** Lines placed after a candidate to try to make dotenv read it differently. */
const HOSTILE_AFTER = [
  "",
  "\n",
  " # c\n",
  "\nX=1\n",
  "\n#'\"`\n",
  "\nX='#\n",
  '\nX="#\n',
  "\nX=`#\n",
  "\n'\n",
];

/**
 * Independent oracle: some plain way of writing `value` reads back with real
 * dotenv whatever follows the line.
 */
function writable(value: string): boolean {
  const escaped = value.replaceAll("\r", "\\r");
  const forms = [value, `'${value}'`, `\`${value}\``, `"${escaped}"`, `"${escaped.replaceAll("\n", "\\n")}"`];
  return forms.some((form) => HOSTILE_AFTER.every((after) => dotenv.parse(`K=${form}${after}`).K === value));
}

function expectedAfter(text: string, changes: Changes): Record<string, string> {
  const expected = { ...parse(text) };
  for (const name of changes.unset ?? []) delete expected[name];
  Object.assign(expected, changes.set);
  return expected;
}

/** Applies, renders, and checks with real dotenv; an UNREPRESENTABLE must be one the oracle agrees with. */
function check(text: string, changes: Changes): string | undefined {
  const expected = expectedAfter(text, changes);
  let out: string;
  try {
    const doc = applyChanges(parseDocument(text), changes);
    const stored = deserializeLayout(serializeLayout(doc));
    expect(stored).toEqual(doc);
    out = render(stored, expected);
  } catch (error) {
    if (!(error instanceof DotenvError) || error.code !== "UNREPRESENTABLE") throw error;
    const value = expected[error.key!]!;
    if (writable(value))
      throw new Error(`${error.key} reported UNREPRESENTABLE but is writable: ${show(value)}`);
    return undefined;
  }
  const actual = dotenv.parse(out);
  if (JSON.stringify(Object.entries(actual).sort()) !== JSON.stringify(Object.entries(expected).sort())) {
    throw new Error(
      `edit of ${show(text)} with ${show(changes)}\n gave ${show(out)}\n read ${show(actual)}\n want ${show(expected)}`,
    );
  }
  return out;
}

const names = fc.constantFrom("A", "B", "C", "KEY", "a.b", "x-y", "_", "NEW", "Z_9");
const changes = fc
  .record(
    { set: fc.dictionary(names, newValue, { maxKeys: 3 }), unset: fc.array(names, { maxLength: 2 }) },
    { requiredKeys: [] },
  )
  .map(
    ({ set, unset }): Changes => ({
      set,
      unset: (unset ?? []).filter((n) => !set || !Object.hasOwn(set, n)),
    }),
  );

describe("applyChanges", () => {
  it("sets, replaces and appends values that dotenv reads back exactly, on every hand-written case", () => {
    const hostile = { A: 'it\'s "q" `b` # $(x) \\', B: " lead\nline2\r\n", NEW: "#" };
    for (const text of HAND_CASES) {
      check(text, { set: hostile });
      check(text, { unset: ["A", "B"] });
      check(text, { set: { C: "" }, unset: ["A"] });
    }
  });

  it(
    "keeps every other value, on generated files and hostile values",
    () => {
      assertProperty(
        fc.property(dotenvText, changes, (text, c) => {
          check(text, c);
        }),
        fuzzRuns(5000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "leaves no copy of a replaced value in the stored layout",
    () => {
      assertProperty(
        fc.property(dotenvText, newValue, (text, value) => {
          const marked = `${text}\nZ_SECRET='s3cr3t-old'\n${text}\nZ_SECRET=s3cr3t-older # x\n`;
          const original = parseDocument(marked);
          const elsewhere = original.items.filter((i) => typeof i === "string" || i.name !== "Z_SECRET");
          if (show(elsewhere).includes("s3cr3t") || parse(marked).Z_SECRET !== "s3cr3t-older") return;
          if (!isRepresentable(value) || value.includes("s3cr3t")) return;
          const doc = applyChanges(original, { set: { Z_SECRET: value } });
          expect(new TextDecoder().decode(serializeLayout(doc))).not.toContain("s3cr3t");
        }),
        fuzzRuns(1000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("removes every line of an unset key, duplicates included", () => {
    const text = "# head\nA=1\nB=2 # keep\nexport A='x\ny'\n";
    expect(render(applyChanges(parseDocument(text), { unset: ["A"] }), { B: "2" })).toBe(
      "# head\nB=2 # keep\n",
    );
  });

  it("rewrites every line of a set key and keeps comments and spacing", () => {
    const text = "A = 1 # one\nexport A=2\r\n";
    expect(render(applyChanges(parseDocument(text), { set: { A: "x y" } }), { A: "x y" })).toBe(
      "A = 'x y' # one\r\nexport A='x y'\r\n".replace("\r\n", "\n"),
    );
  });

  it("appends new keys after a line break, in the file's line ending", () => {
    const doc = parseDocument("A=1\r\nB=2");
    expect(
      render(applyChanges(doc, { set: { C: "3", D: "two\nlines" } }), {
        A: "1",
        B: "2",
        C: "3",
        D: "two\nlines",
      }),
    ).toBe("A=1\r\nB=2\r\nC=3\r\nD='two\r\nlines'");
  });

  it("re-quotes an earlier line whose open quote a new value would close", () => {
    const text = 'A="open\n';
    const out = check(text, { set: { B: 'x"#' } })!;
    expect(dotenv.parse(out)).toEqual({ A: '"open', B: 'x"#' });
  });

  it("re-quotes an empty value that a removal would leave before a quoted line", () => {
    expect(check("A=\nB=1\n'x'\n", { unset: ["B"] })).toBe("A=\"\"\n'x'\n");
  });

  it("keeps an empty value at the end of the file from taking an appended line", () => {
    for (const text of ["A:\r", "A:\n", "A=", "A: "]) check(text, { set: { B: "v" } });
    expect(check("A:\r", { set: { B: "v" } })).toBe('A: ""\nB=v');
  });

  it("comments out an ignored line that a removal would turn into an assignment", () => {
    const out = check("A\nB=1\n=2\n", { unset: ["B"] })!;
    expect(out).toBe("#A\n=2\n");
  });

  it("reports a value no quoting can hold as UNREPRESENTABLE, naming the key", () => {
    const value = "'\"`#";
    expect(() => applyChanges(parseDocument(""), { set: { K: value } })).toThrow(
      expect.objectContaining({ code: "UNREPRESENTABLE", key: "K" }),
    );
    expect(writable(value)).toBe(false);
  });

  it("rejects key names dotenv could not read back", () => {
    for (const name of ["", "1A", "A B", "__proto__", "é", "-x", "a".repeat(257)]) {
      expect(() => applyChanges(parseDocument(""), { set: { [name]: "v" } })).toThrow(
        expect.objectContaining({ code: "INVALID_KEY_NAME" }),
      );
    }
  });
});

describe("formatDotenv", () => {
  it(
    "writes a fresh file that dotenv reads back",
    () => {
      assertProperty(
        fc.property(fc.dictionary(names, newValue), (values) => {
          try {
            expect(dotenv.parse(formatDotenv(values))).toEqual(values);
          } catch (error) {
            if (!(error instanceof DotenvError) || error.code !== "UNREPRESENTABLE") throw error;
            expect(writable(values[error.key!]!)).toBe(false);
          }
        }),
        fuzzRuns(2000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("quotes only what needs quoting", () => {
    expect(formatDotenv({ A: "plain-1.2", B: "", C: "with space", D: "it's", E: "a\nb" })).toBe(
      "A=plain-1.2\nB=\"\"\nC='with space'\nD=\"it's\"\nE='a\nb'\n",
    );
  });
});
