import { describe, expect, it } from "bun:test";
import { createRateLimiter } from "../../src/server";
import { startHarness } from "./harness";

describe("rate limits", () => {
  it("refills a bucket over time and says how long to wait", () => {
    let t = 0;
    const limiter = createRateLimiter(() => t);
    const rule = { rate: 2, burst: 3 };
    expect([1, 2, 3].map(() => limiter.take("k", rule))).toEqual([0, 0, 0]);
    expect(limiter.take("k", rule)).toBe(1);
    t += 500;
    expect(limiter.take("k", rule)).toBe(0);
    expect(limiter.take("other", rule)).toBe(0);
  });

  it("answers sign-in floods from one address with 429 and Retry-After", async () => {
    const h = await startHarness();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const res = await h.request("POST", "/api/v1/auth/login", {
        body: { email: `nobody${i}@example.com`, password: "whatever pass" },
      });
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get("retry-after");
        expect(res.body.error.code).toBe("RATE_LIMITED");
      }
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
