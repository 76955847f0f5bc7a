import { describe, expect, it } from "bun:test";
import {
  type Load,
  MAX_DEPTH,
  parseValue,
  ResolveError,
  referencesOf,
  resolve,
  type View,
} from "../../src/server/modules/layers";

const OTHER = `vlt_${"ab".repeat(32)}`;

function view(key: string, values: Record<string, string>, literal: string[] = []): View {
  return { key, label: key, values: new Map(Object.entries(values)), literal: new Set(literal) };
}

/** Environments of one project by name, one of another project, and names the reader may not read. */
function world(
  envs: Record<string, View>,
  options: { denied?: string[]; other?: Record<string, View> } = {},
) {
  const loads: string[] = [];
  const load: Load = (_from, target) => {
    loads.push(`${target.project ?? ""}/${target.env}`);
    const pool = target.project ? (target.project === OTHER ? (options.other ?? {}) : {}) : envs;
    const found = pool[target.env];
    if (!found) return target.project ? { problem: "denied" } : { problem: "missing" };
    if (options.denied?.includes(found.key)) return { problem: "denied" };
    return { view: found };
  };
  return { load, loads };
}

async function failure(promise: Promise<unknown>): Promise<ResolveError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ResolveError) return error;
    throw error;
  }
  throw new Error("resolved, but a ResolveError was expected");
}

describe("the reference syntax", () => {
  it("reads each form: a key, an environment's key and another project's environment's key", () => {
    expect(referencesOf("@{DB_USER}")).toEqual([{ text: "@{DB_USER}", key: "DB_USER" }]);
    expect(referencesOf("@{production.DB_PASS}")).toEqual([
      { text: "@{production.DB_PASS}", env: "production", key: "DB_PASS" },
    ]);
    expect(referencesOf(`@{${OTHER}/staging.API_HOST}`)).toEqual([
      { text: `@{${OTHER}/staging.API_HOST}`, project: OTHER, env: "staging", key: "API_HOST" },
    ]);
  });

  it("reads a dotted key after an environment name, and a dotted key alone when it starts with an upper-case letter", () => {
    expect(referencesOf("@{development.app.name}")).toEqual([
      { text: "@{development.app.name}", env: "development", key: "app.name" },
    ]);
    expect(referencesOf("@{App.Name}")).toEqual([{ text: "@{App.Name}", key: "App.Name" }]);
  });

  it("takes @@{ as a literal @{, and text without @{ as it is (a dollar-brace variable of dotenv-expand too)", () => {
    expect(parseValue("p@@{ss}")).toEqual({ tokens: ["p@{ss}"] });
    const expand = "$" + "{HOME}/x @ y";
    expect(parseValue(expand)).toEqual({ tokens: [expand] });
    expect(parseValue("a@@{B}@{C}")).toEqual({ tokens: ["a@{B}", { text: "@{C}", key: "C" }] });
  });

  it("finds what only looks like a reference: no closing brace, an empty one, a name that is not one, a project by name", () => {
    expect(parseValue("p@{ss")).toEqual({ malformed: "@{ss" });
    expect(parseValue("@{}")).toEqual({ malformed: "@{}" });
    expect(parseValue("@{has space}")).toEqual({ malformed: "@{has space}" });
    expect(parseValue("@{shop/production.KEY}")).toEqual({ malformed: "@{shop/production.KEY}" });
    expect(parseValue("@{CLÉ}")).toEqual({ malformed: "@{CLÉ}" });
  });
});

describe("the resolver", () => {
  it("resolves a key of the same environment, inside a longer value", async () => {
    const dev = view("development", {
      DB_USER: "app",
      DB_PASS: "s3cret",
      DATABASE_URL: "postgres://@{DB_USER}:@{DB_PASS}@db.internal/app",
    });
    const { load } = world({ development: dev });
    const out = await resolve(dev, undefined, { load });
    expect(out.values.get("DATABASE_URL")).toBe("postgres://app:s3cret@db.internal/app");
    expect(out.touched.size).toBe(0);
  });

  it("resolves another environment's key and says which environments it read", async () => {
    const prod = view("production", { API_HOST: "api.example.com" });
    const staging = view("staging", { URL: "https://@{production.API_HOST}/v1" });
    const { load } = world({ production: prod, staging });
    const out = await resolve(staging, ["URL"], { load });
    expect(out.values.get("URL")).toBe("https://api.example.com/v1");
    expect([...out.touched.keys()]).toEqual(["production"]);
  });

  it("resolves another project's environment, named by its id", async () => {
    const shared = view("shared-common", { SENTRY_DSN: "https://sentry/1" });
    const dev = view("development", { SENTRY_DSN: `@{${OTHER}/common.SENTRY_DSN}` });
    const { load } = world({}, { other: { common: shared } });
    expect((await resolve(dev, undefined, { load })).values.get("SENTRY_DSN")).toBe("https://sentry/1");
  });

  it("follows chains across environments, each reference read in the environment it sits in", async () => {
    const prod = view("production", { HOST: "db.prod", URL: "pg://@{HOST}" });
    const staging = view("staging", { URL: "@{production.URL}/staging" });
    const { load } = world({ production: prod, staging });
    expect((await resolve(staging, undefined, { load })).values.get("URL")).toBe("pg://db.prod/staging");
  });

  it("refuses a cycle, naming the key and the reference that closes it", async () => {
    const dev = view("development", { A: "x@{B}", B: "@{C}", C: "@{A}" });
    const { load } = world({ development: dev });
    const error = await failure(resolve(dev, ["A"], { load }));
    expect(error.code).toBe("CYCLE");
    expect(error.key).toBe("A");
    expect(error.path).toEqual(["@{B}", "@{C}", "@{A}"]);
  });

  it("refuses a value that refers to itself", async () => {
    const dev = view("development", { A: "@{A}" });
    expect((await failure(resolve(dev, undefined, { load: world({}).load }))).code).toBe("CYCLE");
  });

  it("refuses a cycle through another environment", async () => {
    const a = view("a", { X: "@{b.Y}" });
    const b = view("b", { Y: "@{a.X}" });
    const { load } = world({ a, b });
    expect((await failure(resolve(a, undefined, { load }))).code).toBe("CYCLE");
  });

  it(`resolves a chain ${MAX_DEPTH} references deep and refuses one more`, async () => {
    const chain = (n: number) => {
      const values: Record<string, string> = { K0: "end" };
      for (let i = 1; i <= n; i++) values[`K${i}`] = `@{K${i - 1}}`;
      return view("development", values);
    };
    const deep = chain(MAX_DEPTH);
    expect(
      (await resolve(deep, [`K${MAX_DEPTH}`], { load: world({}).load })).values.get(`K${MAX_DEPTH}`),
    ).toBe("end");
    const deeper = chain(MAX_DEPTH + 1);
    const error = await failure(resolve(deeper, [`K${MAX_DEPTH + 1}`], { load: world({}).load }));
    expect(error.code).toBe("DEPTH");
    expect(error.path).toHaveLength(MAX_DEPTH + 1);
  });

  it("refuses a reference to a key that does not exist, and to an environment that does not exist", async () => {
    const prod = view("production", { A: "1" });
    const dev = view("development", { X: "@{production.NOPE}", Y: "@{qa.A}", Z: "@{MISSING}" });
    const { load } = world({ production: prod, development: dev });
    const x = await failure(resolve(dev, ["X"], { load }));
    expect([x.code, x.key, x.reference]).toEqual(["MISSING_KEY", "X", "@{production.NOPE}"]);
    expect((await failure(resolve(dev, ["Y"], { load }))).code).toBe("MISSING_ENVIRONMENT");
    expect((await failure(resolve(dev, ["Z"], { load }))).code).toBe("MISSING_KEY");
  });

  it("refuses a reference into an environment the reader may not read, without its value in the message", async () => {
    const prod = view("production", { DB_PASS: "prod-secret" });
    const dev = view("development", { DB_PASS: "@{production.DB_PASS}" });
    const { load } = world({ production: prod }, { denied: ["production"] });
    const error = await failure(resolve(dev, undefined, { load }));
    expect(error.code).toBe("DENIED");
    expect(error.message).toContain("@{production.DB_PASS}");
    expect(error.message).not.toContain("prod-secret");
  });

  it("refuses a denied environment reached through a chain of readable ones", async () => {
    const prod = view("production", { SECRET: "prod-secret" });
    const staging = view("staging", { S: "@{production.SECRET}" });
    const dev = view("development", { X: "@{staging.S}" });
    const { load } = world({ production: prod, staging }, { denied: ["production"] });
    const error = await failure(resolve(dev, undefined, { load }));
    expect([error.code, error.key, error.path]).toEqual([
      "DENIED",
      "X",
      ["@{staging.S}", "@{production.SECRET}"],
    ]);
  });

  it("refuses a project named by anything but an id, and any look-alike, as malformed", async () => {
    const dev = view("development", { A: "@{shop/production.KEY}", B: "x@{y" });
    const { load } = world({});
    expect((await failure(resolve(dev, ["A"], { load }))).code).toBe("MALFORMED");
    expect((await failure(resolve(dev, ["B"], { load }))).code).toBe("MALFORMED");
  });

  it("keeps an escaped look-alike as a literal @{ and resolves nothing in it", async () => {
    const dev = view("development", { PASSWORD: "hunter@@{2}", TWO: "2" });
    const out = await resolve(dev, undefined, { load: world({}).load });
    expect(out.values.get("PASSWORD")).toBe("hunter@{2}");
  });

  it("takes literal names as written: a version from before references existed", async () => {
    const dev = view("development", { OLD: "@{production.X} x@{", NEW: "@{OLD}" }, ["OLD"]);
    const out = await resolve(dev, undefined, { load: world({}).load });
    expect(out.values.get("OLD")).toBe("@{production.X} x@{");
    expect(out.values.get("NEW")).toBe("@{production.X} x@{");
  });

  it("keeps Unicode around references and in the values they point at", async () => {
    const dev = view("development", { NAME: "Zoë 日本 ✓", GREETING: "héllo @{NAME} 👋" });
    const out = await resolve(dev, undefined, { load: world({}).load });
    expect(out.values.get("GREETING")).toBe("héllo Zoë 日本 ✓ 👋");
  });

  it("resolves references in a multi-line value and in one that held quotes in its file", async () => {
    const dev = view("development", {
      USER: "app",
      CERT: "-----BEGIN-----\nuser=@{USER}\n-----END-----",
      QUOTED: `say "@{USER}" and 'it'`,
    });
    const out = await resolve(dev, undefined, { load: world({}).load });
    expect(out.values.get("CERT")).toBe("-----BEGIN-----\nuser=app\n-----END-----");
    expect(out.values.get("QUOTED")).toBe(`say "app" and 'it'`);
  });

  it("loads each environment once, however many references point into it", async () => {
    const prod = view(
      "production",
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`P${i}`, `${i}`])),
    );
    const dev = view(
      "development",
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`D${i}`, `@{production.P${i}}`])),
    );
    const w = world({ production: prod });
    const out = await resolve(dev, undefined, { load: w.load });
    expect(out.values.get("D7")).toBe("7");
    expect(w.loads).toEqual(["/production"]);
  });

  it("in keep mode leaves a failing reference as written and traces why", async () => {
    const prod = view("production", { A: "1" });
    const dev = view("development", { X: "@{production.A}-@{staging.B}" });
    const { load } = world({ production: prod }, { denied: [] });
    const out = await resolve(dev, ["X"], { load, onError: "keep", trace: true });
    expect(out.values.get("X")).toBe("1-@{staging.B}");
    const refs = out.traces.get("X")!.references;
    expect(refs.map((r) => [r.text, r.view ?? null, r.error ?? null])).toEqual([
      ["@{production.A}", "production", null],
      ["@{staging.B}", null, "MISSING_ENVIRONMENT"],
    ]);
  });
});
