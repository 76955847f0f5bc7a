/**
 * Hostile input against every API body, in process (fast-check).
 *
 * For each native route and each dotenv-vault verb, fast-check sends
 * arbitrary JSON values, valid bodies with one field replaced by something
 * hostile (wrong types, huge numbers, deep JSON, path-like and SQL-like
 * names, CR/LF, NUL, lone surrogates), raw bytes that are not UTF-8, and
 * hostile path segments, query strings, credentials and content types;
 * from the owner, a read-only member, a service token and a `me_`
 * credential. Properties:
 *
 * - the answer is never a 5xx, and comes within a bound (no hang);
 * - no header the client tried to inject appears in the answer;
 * - a refused answer (4xx) changes nothing (see ./state.ts for exactly what
 *   is compared and which audit events a refusal may add);
 * - the server logs no error.
 *
 * Runs per property: FUZZ_RUNS (default 25, about 10 s in CI; FUZZ_RUNS=200
 * is a long run of several minutes, slower as the fuzzing's own successful
 * writes grow the state compared after every request). FUZZ_SEED replays a
 * failure; FUZZ_STATS=1 prints the answers seen per route and status, to
 * check that the fuzzing reaches past validation.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { projectWith } from "../server/fixtures";
import { type Harness, type Json, startHarness } from "../server/harness";
import { snapshot, unexpectedChange } from "./state";

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const ANSWER_MS = 10_000;

let h: Harness;
let owner: { token: string; id: string; email: string };
let member: { token: string; id: string; email: string };
let projectId: string;
let me: string;
let serviceToken: string;
let tokenId: string;

beforeAll(async () => {
  h = await startHarness();
  const p = await projectWith(h);
  owner = p.owner;
  projectId = p.project.id;
  member = await h.user("member@example.com");
  const put = (env: string, dotenv: string) =>
    h.request("PUT", `${p.base}/${env}/secrets`, { token: owner.token, body: { dotenv } });
  expect((await put("development", "A=1\nB='two'\n")).status).toBe(200);
  expect((await put("development", "A=1\nB='three'\nC=x\n")).status).toBe(200);
  expect((await put("production", "P=1\n")).status).toBe(200);
  const added = await h.request("POST", `/api/v1/projects/${projectId}/members`, {
    token: owner.token,
    body: { email: member.email, permissions: { development: "read" } },
  });
  expect(added.status).toBe(201);
  const token = await h.request("POST", `/api/v1/projects/${projectId}/tokens`, {
    token: owner.token,
    body: { name: "ci", environments: ["development"], write: true },
  });
  expect(token.status).toBe(201);
  serviceToken = token.body.token;
  tokenId = token.body.id;
  const meRes = await h.request("POST", `/api/v1/projects/${projectId}/me`, { token: owner.token });
  expect(meRes.status).toBe(201);
  me = meRes.body.token ?? meRes.body.me ?? meRes.body.DOTENV_ME;
  expect(me).toMatch(/^me_/);
});

// ---------------------------------------------------------------- generators

const pathLike = fc.constantFrom(
  "../../etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "/",
  "//evil.example",
  "\\..\\..\\windows",
  "%00",
  "a/../../b",
  "file:///etc/shadow",
);
const sqlLike = fc.constantFrom(
  "' OR '1'='1",
  "x'; DROP TABLE users; --",
  '" OR ""="',
  "1; SELECT * FROM tokens",
  "%27%20OR%201=1",
  "\\'",
);
const headerInjection = fc.constantFrom(
  "a\r\nX-Injected: 1",
  "a%0d%0aX-Injected:%201",
  "a%0aSet-Cookie:%20x=1",
  "\r\n\r\nHTTP/1.1 200 OK",
);
const nasty = fc.constantFrom(
  "",
  "\u0000",
  "\ud800",
  "\udfff",
  "A=\u0000\n",
  "\u202e",
  "x".repeat(70_000),
  "🔥".repeat(1000),
  "__proto__",
  "constructor",
);
const hugeNumber = fc.constantFrom(
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  1e308,
  -1e308,
  2_147_483_648,
  -1,
  0.5,
  Number.MIN_VALUE,
);
const hostileString = fc.oneof(pathLike, sqlLike, headerInjection, nasty, fc.string({ maxLength: 40 }));
const hostileScalar = fc.oneof(
  hostileString,
  hugeNumber,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const deep = fc.nat({ max: 5000 }).map((n) => {
  let v: unknown = "x";
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
});
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileScalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: fc.array(hostileScalar, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, hostileScalar, { maxKeys: 5 }) },
);

/** A valid body with each field possibly replaced or removed, plus possibly an unknown field. */
function mutated(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc
    .record({
      replace: fc.subarray(keys),
      drop: fc.subarray(keys),
      values: fc.array(hostileValue, { minLength: keys.length, maxLength: keys.length }),
      extra: fc.option(fc.tuple(hostileString, hostileValue), { nil: undefined }),
    })
    .map(({ replace, drop, values, extra }) => {
      const out: Record<string, unknown> = { ...valid };
      for (const [i, k] of keys.entries()) if (replace.includes(k)) out[k] = values[i];
      for (const k of drop) delete out[k];
      if (extra) out[extra[0]] = extra[1];
      return out;
    });
}

type Body = { json: unknown } | { raw: string | Uint8Array };

/** What goes on the wire: a JSON value, broken JSON, or bytes that are not UTF-8. */
function bodies(valid: Record<string, unknown>): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 5, arbitrary: mutated(valid).map((json) => ({ json })) },
    { weight: 2, arbitrary: hostileValue.map((json) => ({ json })) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 200 })
        .map((bytes) => ({ raw: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, ...bytes]) })),
    },
    {
      weight: 1,
      arbitrary: fc.string({ maxLength: 100 }).map((s) => ({ raw: `{"${s}` })),
    },
  );
}

// ---------------------------------------------------------------- the check

/** Answers seen, by route and status (printed with FUZZ_STATS=1, to see the fuzzing reach past validation). */
const seen = new Map<string, number>();
afterAll(() => {
  if (process.env.FUZZ_STATS === "1")
    console.log(
      [...seen]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join("\n"),
    );
});

async function send(
  method: string,
  path: string,
  body: Body | undefined,
  token: string | undefined,
  headers?: Record<string, string>,
): Promise<{ status: number; body: Json; headers: Headers }> {
  // Keep every rate limit's bucket full: the limits are tested elsewhere.
  h.clock.advance(1_100);
  const options =
    body === undefined
      ? { token, headers }
      : "raw" in body
        ? { token, headers, raw: body.raw }
        : { token, headers, body: body.json };
  const answer = h.request(method, path, options);
  const timeout = Bun.sleep(ANSWER_MS).then(() => "timeout" as const);
  const res = await Promise.race([answer, timeout]);
  if (res === "timeout") throw new Error(`${method} ${path} did not answer within ${ANSWER_MS} ms`);
  return res;
}

async function checkOne(
  method: string,
  path: string,
  body: Body | undefined,
  token: string | undefined,
  headers?: Record<string, string>,
): Promise<void> {
  const before = await snapshot(h);
  const errorsBefore = h.logs.filter((l) => l.includes('"level":"error"')).length;
  let res: Awaited<ReturnType<typeof send>>;
  try {
    res = await send(method, path, body, token, headers);
  } catch (error) {
    throw new Error(`${method} ${path}: ${(error as Error).message}`);
  }
  const shown = () =>
    `${method} ${path} ${JSON.stringify(body && "json" in body ? body.json : "(raw)")?.slice(0, 300)} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  const key = `${method} ${path
    .split("?")[0]!
    .replace(/vlt_[0-9a-f]{64}/, ":p")
    .slice(0, 60)} ${res.status} ${res.body?.error?.code ?? res.body?.errors?.[0]?.code ?? ""}`;
  seen.set(key, (seen.get(key) ?? 0) + 1);
  if (res.status >= 500) throw new Error(`a 5xx: ${shown()}`);
  if (res.headers.has("x-injected")) throw new Error(`an injected header came back: ${shown()}`);
  const errorsAfter = h.logs.filter((l) => l.includes('"level":"error"'));
  if (errorsAfter.length > errorsBefore)
    throw new Error(`the server logged an error: ${errorsAfter.at(-1)} for ${shown()}`);
  if (res.status >= 400) {
    const change = unexpectedChange(before, await snapshot(h));
    if (change) throw new Error(`a refused request changed state (${change}): ${shown()}`);
  }
}

async function property(
  method: string,
  path: string | fc.Arbitrary<string>,
  valid: Record<string, unknown> | undefined,
  token: () => string | undefined,
  runs = RUNS,
): Promise<void> {
  const paths = typeof path === "string" ? fc.constant(path) : path;
  const body = valid ? bodies(valid).map((b): Body | undefined => b) : fc.constant(undefined);
  await fc.assert(
    fc.asyncProperty(paths, body, async (p, b) => {
      await checkOne(method, p, b, token());
    }),
    {
      numRuns: runs,
      seed: SEED,
      endOnFailure: true,
      // The well-formed request itself comes first, so that each property also reaches past validation.
      examples: typeof path === "string" ? [[path, valid ? { json: valid } : undefined]] : [],
    },
  );
}

// ---------------------------------------------------------------- the routes

const P = () => `/api/v1/projects/${projectId}`;
const E = (env = "development") => `${P()}/environments/${env}`;

/** Percent-encoding; a lone surrogate becomes the bytes of an encoded surrogate, which are not UTF-8. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return `${encodeURIComponent(s.toWellFormed())}%ED%A0%80`;
  }
}

/** Hostile path segments, raw or percent-encoded. */
const segment = fc.oneof(hostileString.map(enc), pathLike, sqlLike.map(enc), headerInjection);
/** Hostile query strings. */
const query = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        "from",
        "to",
        "other",
        "otherVersion",
        "reveal",
        "version",
        "format",
        "key",
        "limit",
        "before",
        "x",
      ),
      hostileString,
      fc.boolean(),
    ),
    { maxLength: 4 },
  )
  .map((pairs) =>
    pairs.map(([k, v, encode]) => `${k}=${encode ? enc(v) : v.replace(/[#?]/g, "")}`).join("&"),
  );

describe("hostile input: native API", () => {
  it("sign-in refuses anything but an email and a password, without a 5xx or a change", async () => {
    await property(
      "POST",
      "/api/v1/auth/login",
      { email: "nobody@example.com", password: "not the password" },
      () => undefined,
      Math.min(RUNS, 15),
    );
  });

  it("creating and renaming projects and adding environments survive hostile names", async () => {
    await property("POST", "/api/v1/projects", { name: "p" }, () => owner.token);
    await property("PATCH", P(), { name: "renamed" }, () => owner.token);
    await property("POST", `${P()}/environments`, { name: "qa" }, () => owner.token);
    await property("DELETE", P(), { confirm: "not the name" }, () => owner.token);
    await property("DELETE", E("production"), { confirm: "nope" }, () => owner.token);
  });

  it("members and permissions survive hostile bodies", async () => {
    await property(
      "POST",
      `${P()}/members`,
      { email: member.email, role: "member", permissions: { development: "write" } },
      () => owner.token,
    );
    await property(
      "PUT",
      `${P()}/members/${member.id}/permissions`,
      { permissions: { development: "write", production: "read" } },
      () => owner.token,
    );
    await property(
      "DELETE",
      fc.constant(`${P()}/members/`).chain((p) => segment.map((s) => p + s)),
      undefined,
      () => owner.token,
    );
  });

  it("tokens survive hostile bodies", async () => {
    await property(
      "POST",
      `${P()}/tokens`,
      { name: "t", environments: ["development"], write: false, expiresInDays: 3 },
      () => owner.token,
    );
    await property(
      "DELETE",
      fc.constant(`${P()}/tokens/`).chain((p) => segment.map((s) => p + s)),
      undefined,
      () => owner.token,
    );
  });

  it("a caller without the right is refused well-formed writes, and they change nothing", async () => {
    // A read-only member and a service token, with valid bodies (and hostile variants) on owner-only routes.
    for (const caller of [() => member.token, () => serviceToken]) {
      await property("DELETE", `${P()}/tokens/${tokenId}`, undefined, caller, 3);
      await property("PATCH", P(), { name: "taken over" }, caller, 5);
      await property("DELETE", P(), { confirm: "shop" }, caller, 5);
      await property(
        "POST",
        `${P()}/members`,
        { email: member.email, permissions: { production: "write" } },
        caller,
        5,
      );
      await property(
        "PUT",
        `${P()}/members/${member.id}/permissions`,
        { permissions: { development: "write" } },
        caller,
        5,
      );
      await property(
        "POST",
        `${P()}/tokens`,
        { name: "mine", environments: ["production"], write: true },
        caller,
        5,
      );
      await property("PUT", `${E("production")}/secrets`, { dotenv: "P=stolen\n" }, caller, 5);
    }
  });

  it("pushes, single-key changes and rollbacks survive hostile bodies, from every kind of caller", async () => {
    const callers = [() => owner.token, () => member.token, () => serviceToken, () => me];
    for (const caller of callers) {
      await property("PUT", `${E()}/secrets`, { dotenv: "A=1\n", baseVersion: 2, merge: false }, caller);
      await property("PATCH", `${E()}/secrets`, { set: { A: "2" }, baseVersion: 2 }, caller);
      await property("PATCH", `${E()}/secrets`, { unset: ["C"] }, caller);
      await property("POST", `${E()}/rollback`, { version: 1, baseVersion: 2 }, caller);
    }
  });

  it("reads, versions and diffs survive hostile paths and query strings", async () => {
    const urls = fc.oneof(
      segment.map((s) => `${P()}/environments/${s}/secrets`),
      query.map((q) => `${E()}/secrets?${q}`),
      query.map((q) => `${E()}/versions?${q}`),
      query.map((q) => `${E()}/diff?${q}`),
      segment.map((s) => `/api/v1/projects/${s}/environments`),
      query.map((q) => `/api/v1/audit?${q}`),
    );
    await property("GET", urls, undefined, () => owner.token, RUNS * 4);
    await property("GET", urls, undefined, () => serviceToken, RUNS);
  });
});

/** Header values a client can actually send (a ByteString without CR, LF or NUL). */
const headerSafe = (v: string) => v.replace(/[\r\n\0]|[^\x20-\xff]/g, "?");
const credential = fc
  .oneof(
    fc.constantFrom(
      "",
      "Bearer",
      "Bearer ",
      "Basic dXNlcjpwYXNz",
      `Bearer me_${"0".repeat(64)}`,
      `Bearer ${"x".repeat(20_000)}`,
    ),
    hostileString.map((v) => `Bearer ${v}`),
    fc.string({ maxLength: 80, unit: "binary" }).map((v) => `Bearer ${v}`),
    hostileString,
  )
  .map(headerSafe);
const contentType = fc
  .oneof(
    fc.constantFrom(
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json; charset=latin1",
      "application/octet-stream",
      "",
    ),
    fc.string({ maxLength: 40 }),
  )
  .map(headerSafe);

describe("hostile input: headers", () => {
  it("hostile credentials get a 4xx and change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        credential,
        fc.constantFrom("/api/v1/me", `${E()}/secrets`, "/api/v1/projects", `${P()}/tokens`),
        async (authorization, path) => {
          await checkOne("GET", path, undefined, undefined, { authorization });
          await checkOne("PUT", `${E()}/secrets`, { json: { dotenv: "A=9\n" } }, undefined, {
            authorization,
          });
        },
      ),
      { numRuns: RUNS * 2, seed: SEED, endOnFailure: true },
    );
  });

  it("a body under any content type is refused or read as JSON, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(contentType, bodies({ dotenv: "A=1\n" }), async (type, b) => {
        // Sent raw: the harness would set application/json on a JSON body.
        const body: Body = { raw: "raw" in b ? b.raw : (JSON.stringify(b.json) ?? "") };
        await checkOne("PUT", `${E()}/secrets`, body, owner.token, { "content-type": type });
        await checkOne("POST", "/push", body, undefined, { "content-type": type });
      }),
      { numRuns: RUNS * 2, seed: SEED, endOnFailure: true },
    );
  });
});

describe("hostile input: dotenv-vault verbs", () => {
  const verbs = [
    "/push",
    "/pull",
    "/build",
    "/keys",
    "/rotatekey",
    "/versions",
    "/whoami",
    "/vault",
    "/check",
  ];
  for (const verb of verbs) {
    it(`${verb} answers hostile bodies with a 4xx and changes nothing`, async () => {
      await property(
        "POST",
        verb,
        {
          DOTENV_VAULT: projectId,
          DOTENV_ME: me,
          environment: "development",
          dotenv: "A=1\n",
          requestUid: `req_${"0".repeat(64)}`,
        },
        () => undefined,
      );
      await property(
        "POST",
        query.map((q) => `${verb}?${q}`),
        { projectUid: projectId, meUid: me, environment: "production@2" },
        () => undefined,
      );
    });
  }
});
