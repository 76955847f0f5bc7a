/**
 * The web editor's speed, against the compiled binary (`vault serve` on
 * loopback, audit on): time to first byte and full load of the editor page
 * of an environment of 100 and of 10,000 keys (the page shows 200 of them),
 * with the same run's baseline, the sign-in page (the same layout, no data).
 *
 * - TTFB and the whole HTML, from a client on the same machine (fetch: the
 *   answer's headers, then its last byte), as the median and p90 of
 *   BENCH_WEB_RUNS loads (default 40, 10 with BENCH_QUICK=1) after a warm-up;
 * - the full load in Chromium (playwright-core, Debian's /usr/bin/chromium):
 *   navigation start to the load event, the stylesheet, the script and the
 *   icon included (a fresh page each time, so nothing is cached);
 * - 10,000 keys with 50 pending changes (the draft is opened from the
 *   keeper), and 10,000 keys with the version cache off (`--cache-ttl 0s`:
 *   the names come from app.db each time, their MAC checked).
 *
 * Goal: TTFB under 100 ms at 10,000 keys (the median).
 */
import type { Browser } from "playwright-core";
import { launchBrowser } from "../test/helpers/browser";
import {
  type BenchServer,
  emit,
  fileOf,
  fmt,
  percentile,
  QUICK,
  type Row,
  startBenchServer,
} from "./lib/suite";

const RUNS = Number(process.env.BENCH_WEB_RUNS ?? (QUICK ? 10 : 40));
const BROWSER_RUNS = QUICK ? 3 : 10;
const WARMUP = 5;
const GOAL_MS = 100;

interface Timing {
  ttfb: number[];
  html: number[];
  bytes: number;
}

/** The editor of an environment as a signed-in browser sees it: the session cookie (an API session is one). */
async function timeFetch(
  s: BenchServer,
  path: string,
  cookie: string | undefined,
  runs: number,
): Promise<Timing> {
  const t: Timing = { ttfb: [], html: [], bytes: 0 };
  for (let i = 0; i < WARMUP + runs; i++) {
    const t0 = performance.now();
    const res = await fetch(`${s.base}${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });
    const first = performance.now() - t0;
    const body = await res.arrayBuffer();
    const all = performance.now() - t0;
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
    if (i < WARMUP) continue;
    t.ttfb.push(first);
    t.html.push(all);
    t.bytes = body.byteLength;
  }
  t.ttfb.sort((a, b) => a - b);
  t.html.sort((a, b) => a - b);
  return t;
}

/** Navigation start to the load event in Chromium, each in a fresh context (no cache), the median. */
async function timeBrowser(
  browser: Browser,
  s: BenchServer,
  path: string,
  token: string | undefined,
): Promise<number[]> {
  const url = new URL(s.base);
  const loads: number[] = [];
  for (let i = 0; i < 1 + BROWSER_RUNS; i++) {
    const context = await browser.newContext();
    if (token)
      await context.addCookies([{ name: "vault_session", value: token, domain: url.hostname, path: "/" }]);
    const page = await context.newPage();
    const res = await page.goto(`${s.base}${path}`, { waitUntil: "load" });
    if (res?.status() !== 200) throw new Error(`Chromium: GET ${path} answered ${res?.status()}`);
    // A string, evaluated in the page (the bench's own types know no DOM).
    const load = Number(
      await page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; })()",
      ),
    );
    if (i > 0) loads.push(load);
    await context.close();
  }
  return loads.sort((a, b) => a - b);
}

const ms = (sorted: number[]) => `${fmt(percentile(sorted, 50), 1)} / ${fmt(percentile(sorted, 90), 1)}`;

async function setUp(args: string[]) {
  const s = await startBenchServer({ tls: false, projects: 1, envsPerProject: 2, keys: 100, args });
  // ci gets 10,000 keys (development keeps its 100).
  const big = s.envPaths[1]!;
  const put = await s.fetch(`${big}/secrets`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ dotenv: fileOf(10_000, "web") }),
  });
  if (!put.ok) throw new Error(`push of 10,000 keys: ${put.status}`);
  const editor = (apiPath: string) =>
    apiPath.replace("/api/v1/projects/", "/p/").replace("/environments/", "/e/");
  return { s, small: editor(s.envPaths[0]!), big: editor(big), cookie: `vault_session=${s.token}` };
}

const rows: Row[] = [];
const main = await setUp([]);
const cold = await setUp(["--cache-ttl", "0s"]);
let browser: Browser | undefined;
try {
  const { s, cookie } = main;
  const signin = await timeFetch(s, "/signin", undefined, RUNS);
  const small = await timeFetch(s, main.small, cookie, RUNS);
  const big = await timeFetch(s, main.big, cookie, RUNS);
  const uncached = await timeFetch(cold.s, cold.big, cold.cookie, RUNS);

  // 50 pending changes on the 10,000 keys: one import into this session's draft.
  const page = await fetch(`${s.base}${main.big}`, { headers: { cookie } });
  const csrf = /<meta name="csrf" content="([^"]+)">/.exec(await page.text())?.[1] ?? "";
  const csrfCookie =
    page.headers
      .getSetCookie()
      .find((c) => c.startsWith("vault_csrf="))
      ?.split(";")[0] ?? "";
  const withCsrf = `${cookie}; ${csrfCookie}`;
  const imported = await fetch(`${s.base}${main.big}/import`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: withCsrf, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      csrf,
      dotenv: Array.from({ length: 50 }, (_, i) => `KEY_${i * 7}=pending-${i}`).join("\n"),
    }),
  });
  if (imported.status !== 303) throw new Error(`import of 50 pending changes answered ${imported.status}`);
  const pending = await timeFetch(s, main.big, withCsrf, RUNS);

  browser = await launchBrowser();
  const loadSignin = await timeBrowser(browser, s, "/signin", undefined);
  const loadSmall = await timeBrowser(browser, s, main.small, s.token);
  const loadBig = await timeBrowser(browser, s, main.big, s.token);

  const base = percentile(signin.ttfb, 50);
  const ratio = (t: Timing) => fmt(percentile(t.ttfb, 50) / base, 1);
  const goal = (t: Timing): Row => ({
    figure: "",
    value: "",
    goal: `< ${GOAL_MS} ms`,
    verdict: percentile(t.ttfb, 50) < GOAL_MS ? "ok" : "MISSED",
  });
  rows.push(
    {
      figure: "editor TTFB, 100 keys (ms, p50 / p90)",
      value: ms(small.ttfb),
      baseline: `${ms(signin.ttfb)} (sign-in page)`,
      ratio: ratio(small),
    },
    {
      ...goal(big),
      figure: "editor TTFB, 10,000 keys (ms, p50 / p90)",
      value: ms(big.ttfb),
      baseline: `${ms(small.ttfb)} (100 keys)`,
      ratio: fmt(percentile(big.ttfb, 50) / percentile(small.ttfb, 50), 1),
    },
    {
      ...goal(pending),
      figure: "editor TTFB, 10,000 keys, 50 pending changes (ms)",
      value: ms(pending.ttfb),
      baseline: `${ms(big.ttfb)} (no draft)`,
      ratio: fmt(percentile(pending.ttfb, 50) / percentile(big.ttfb, 50), 1),
    },
    {
      ...goal(uncached),
      figure: "editor TTFB, 10,000 keys, version cache off (ms)",
      value: ms(uncached.ttfb),
      baseline: `${ms(big.ttfb)} (cache on)`,
      ratio: fmt(percentile(uncached.ttfb, 50) / percentile(big.ttfb, 50), 1),
    },
    {
      figure: "editor HTML complete, 100 / 10,000 keys (ms, p50)",
      value: `${fmt(percentile(small.html, 50), 1)} / ${fmt(percentile(big.html, 50), 1)}`,
      baseline: `${fmt(percentile(signin.html, 50), 1)} (sign-in page)`,
    },
    {
      figure: "editor page size, 100 / 10,000 keys (KB)",
      value: `${fmt(small.bytes / 1024, 1)} / ${fmt(big.bytes / 1024, 1)}`,
      baseline: `${fmt(signin.bytes / 1024, 1)} (sign-in page)`,
    },
    {
      figure: "editor full load in Chromium, 100 keys (ms, p50 / p90)",
      value: ms(loadSmall),
      baseline: `${ms(loadSignin)} (sign-in page)`,
      ratio: fmt(percentile(loadSmall, 50) / percentile(loadSignin, 50), 1),
    },
    {
      figure: "editor full load in Chromium, 10,000 keys (ms, p50 / p90)",
      value: ms(loadBig),
      baseline: `${ms(loadSmall)} (100 keys)`,
      ratio: fmt(percentile(loadBig, 50) / percentile(loadSmall, 50), 1),
    },
  );
  emit(`web editor (${RUNS} loads each over fetch, ${BROWSER_RUNS} in Chromium)`, rows);
} finally {
  await browser?.close();
  await main.s.close();
  await cold.s.close();
}
