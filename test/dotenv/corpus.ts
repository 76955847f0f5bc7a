/**
 * Shared inputs for the dotenv tests: hand-written edge cases, and fast-check
 * arbitraries built from dotenv-ish fragments, so that generated files keep
 * hitting the parser's interesting paths (quotes that close or not, escaped
 * quotes, comments, `export`, `:` separators, CR/LF/U+2028 line breaks)
 * rather than random noise.
 */
import fc from "fast-check";

/** Number of fast-check runs: DOTENV_FUZZ_RUNS, else `fallback`. */
export function fuzzRuns(fallback: number): number {
  const raw = process.env.DOTENV_FUZZ_RUNS;
  const n = raw === undefined ? Number.NaN : Number.parseInt(raw, 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Per-test timeout for the generated tests: generous when DOTENV_FUZZ_RUNS asks for a long run. */
export const FUZZ_TIMEOUT_MS = process.env.DOTENV_FUZZ_RUNS === undefined ? 30_000 : 3_600_000;

/** JSON, with the line and paragraph separators escaped too (JSON.stringify keeps them raw). */
export function show(value: unknown): string {
  return JSON.stringify(value).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** fc.assert, but the failure message carries the failing check's own message (the input, the outputs). */
export function assertProperty<T>(property: fc.IProperty<T>, numRuns: number): void {
  const out = fc.check(property, { numRuns });
  if (out.failed) {
    const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
    const report = fc.defaultReportMessage(out) ?? "";
    throw new Error(
      `${cause}\n${report.replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)}`,
    );
  }
}

export const HAND_CASES: readonly string[] = [
  "",
  "A=1",
  "A=1\nB=2\n",
  "A=hello world",
  "A = 1",
  "A= 1 ",
  "A =1",
  "A=\tvalue\t",
  "A=",
  "A=\nB=2",
  "A= \n'x'",
  "A=\n'foo'\nB=1",
  "A='single'",
  'A="double"',
  "A=`backtick`",
  "A='it''s'",
  "A='a\\'b'",
  'A="a\\"b"',
  "A=`a\\`b`",
  'A="line1\\nline2"',
  "A='line1\\nline2'",
  "A=`line1\\nline2`",
  'A="cr\\rlf\\n"',
  'A="multi\nline\nvalue"',
  "A='multi\nline'\nB=2",
  "A=`multi\r\nline`\r\nB=2",
  'A="crlf\r\ninside"',
  "A='unterminated\nB=2",
  'A="unterminated\nB=2',
  'A="unterminated\\n escape',
  "A=`unterminated",
  'A="a" trailing',
  "A='a' b'",
  "A=value # comment",
  "A=value#nospace",
  "A=#notvalue",
  "A='#inside'",
  'A="# inside" # outside',
  "A=`#x`#y",
  "# full comment\nA=1",
  "  # indented comment\nA=1",
  "A=1 # c\n# c2\nB=2",
  "export A=1",
  "export  A=1",
  "export\tA=1",
  "export A",
  "export=1",
  "exportA=1",
  "export\nA=1",
  "A\n=1",
  "A\nB=1",
  "A:1",
  "A: 1",
  "A:\tx",
  "A:\nb",
  "A:",
  "A=1=2",
  "A==1",
  "A=a=b=c",
  "A=1\nA=2",
  "A=1\nB=x\nA=3",
  "a.b=1\nc-d=2\n_e=3\n1=4",
  ".=dot\n-=dash",
  "A B=1",
  "=1",
  ":1",
  "just text",
  "A=1\r\nB=2\r\n",
  "A=1\rB=2\r",
  "A='x'\r\rB='y'",
  "\ufeffA=bom",
  "A=\u00a0nbsp\u00a0",
  "A=é ünïcödé 😀",
  "ÉA=1",
  "A=x\u2028B=2",
  "A='x'\u2028B=2",
  "A=x\u2028'y'",
  "A=\u2029",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal dotenv value
  "A=$HOME ${PATH} $(rm -rf)",
  "A=\\n\\r\\\\",
  'A="\\\\n"',
  'A="a\\\\"',
  "A='a\\'\nB='#'",
  'A="x\\"\n# "',
  'A="a\'b`c"',
  "A='\"quoted\"'",
  "A=  'spaced'  ",
  'A=""',
  "A=''",
  "A=``",
  'A="',
  "A='",
  "A=`",
  'A="""',
  "A=\"'\"'",
  "\n\n\nA=1\n\n\n",
  "   A=indented",
  "\tA=tab",
  "A=1\n\n# c\n\nB=2",
  "KEY_WITH_DIGITS_123=x",
  "A='a\n\nb'",
  'A="a" # "b"',
  'A="a\\"" x\nB=1',
  "A=x #",
  "#A=1",
  " #A=1",
  "A=1 #c\nB=\n#\nC=3",
];

const lineBreak = fc.constantFrom("\n", "\n", "\n", "\r\n", "\r", "\u2028");
const indent = fc.constantFrom("", "", "", " ", "  ", "\t", "\u00a0", "\ufeff", "\n");
const exportWord = fc.constantFrom("", "", "", "export ", "export\t", "export", "export  ");
const key = fc.constantFrom(
  "A",
  "B",
  "C",
  "KEY",
  "a.b",
  "x-y",
  "_",
  "1",
  "export",
  "A B",
  "",
  "é",
  "__proto__",
);
const separator = fc.constantFrom("=", "=", "=", " = ", "= ", " =", ":", ": ", ":\t", ":\n", "==", "=\n");
const piece = fc.constantFrom(
  "abc",
  "x",
  " ",
  "  ",
  "#",
  " #c",
  "'",
  '"',
  "`",
  "\\",
  "\\n",
  "\\r",
  "\\'",
  '\\"',
  "\\`",
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal dotenv value
  "${X}",
  "$(id)",
  "=",
  "é",
  "😀",
  "\u2028",
  "\t",
  "\n",
  "\r\n",
  "\r",
  "\u00a0",
  ":",
  "export",
  "A=1",
);
const content = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(""));
const quoted = fc
  .tuple(fc.constantFrom("'", '"', "`"), content, fc.boolean())
  .map(([q, c, close]) => `${q}${c}${close ? q : ""}`);
const value = fc.oneof(content, quoted, quoted);
const trailing = fc.constantFrom("", "", "", " ", " # comment", "#c", "\t#", " x", "'", ' "');
const entryLine = fc
  .tuple(indent, exportWord, key, separator, value, trailing)
  .map(([i, e, k, s, v, t]) => `${i}${e}${k}${s}${v}${t}`);
const otherLine = fc.constantFrom(
  "",
  "",
  "# comment",
  "  # indented",
  "export",
  "A",
  "A:",
  "=1",
  ":x",
  ": x",
  "'x",
  "'x'",
  '"y" # c',
  '"open',
  "`",
  " ",
);

/** A dotenv-ish line: mostly assignments, some comments, blanks and debris. */
export const line = fc.oneof({ weight: 5, arbitrary: entryLine }, { weight: 2, arbitrary: otherLine });

/** A dotenv-ish file: lines joined with assorted breaks, with or without a final one. */
export const dotenvText = fc
  .tuple(fc.array(fc.tuple(line, lineBreak), { maxLength: 12 }), fc.boolean())
  .map(([lines, finalBreak]) => {
    const text = lines.map(([l, b]) => l + b).join("");
    return finalBreak || lines.length === 0 ? text : text.slice(0, -lines.at(-1)![1].length);
  });

/** Values a user may set: plain, and hostile (quotes, breaks, `#`, `$()`, backslashes, edges). */
export const newValue = fc.oneof(
  fc.constantFrom("", "plain", "with space", " lead", "trail ", "a#b", "#", "x\ny", "\n", "it's", 'say "hi"'),
  content,
  fc.string({ maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom("'", '"', "`", "\\", "n", "r", "#", " ", "\n", "\r", "$", "(", "a", "\u2028"),
  }),
);
