import { describe, expect, it } from "bun:test";
import fc from "fast-check";
import { parse, parseDocument, render } from "../../src/dotenv";
import { assertProperty, dotenvText, FUZZ_TIMEOUT_MS, fuzzRuns, HAND_CASES, show } from "./corpus";

function roundTrips(text: string): void {
  const out = render(parseDocument(text), parse(text));
  if (out !== text) throw new Error(`render changed ${show(text)} into ${show(out)}`);
}

describe("parseDocument", () => {
  it("renders every hand-written case back byte for byte", () => {
    for (const text of HAND_CASES) roundTrips(text);
  });

  it(
    "renders a generated corpus back byte for byte",
    () => {
      assertProperty(
        fc.property(dotenvText, (text) => roundTrips(text)),
        fuzzRuns(5000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("keeps no value in the layout when every value can be written back from its style", () => {
    const text = "# c\nexport A=1\r\nB = \"two\\nlines\" # x\nC='multi\nline'\n";
    const doc = parseDocument(text);
    const json = show(doc);
    for (const secret of ["two", "lines", "multi", '"1"']) expect(json).not.toContain(secret);
    expect(render(doc, parse(text))).toBe(text);
  });

  it("keeps the text of an earlier duplicate, whose value is not the parsed one", () => {
    const doc = parseDocument("A=old\nA=new\n");
    expect(doc.items.map((i) => (typeof i === "string" ? i : (i.raw ?? null)))).toEqual(["old", null]);
  });

  it("renders other values into the same layout", () => {
    const doc = parseDocument("A=1 # one\nexport B='x'\n");
    expect(render(doc, { A: "2", B: "y" })).toBe("A=2 # one\nexport B='y'\n");
  });
});
