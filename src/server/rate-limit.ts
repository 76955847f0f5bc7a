/**
 * Token-bucket rate limits, per client address and per credential. A
 * refused request gets 429 with `Retry-After` (whole seconds). Buckets idle
 * long enough to be full are dropped, so memory follows active clients only.
 */
export interface RateLimitRule {
  /** Sustained requests per second. */
  rate: number;
  /** Burst size. */
  burst: number;
}

export interface RateLimiter {
  /** Takes one token for `key` under `rule`; returns 0 when allowed, or the seconds to wait. */
  take(key: string, rule: RateLimitRule): number;
  size(): number;
}

export function createRateLimiter(now: () => number): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number; rule: RateLimitRule }>();
  let lastSweep = now();
  const sweep = (t: number) => {
    if (t - lastSweep < 10_000) return;
    lastSweep = t;
    for (const [key, b] of buckets) {
      if (b.tokens + ((t - b.at) / 1000) * b.rule.rate >= b.rule.burst) buckets.delete(key);
    }
  };
  return {
    take(key, rule) {
      const t = now();
      sweep(t);
      const b = buckets.get(key) ?? { tokens: rule.burst, at: t, rule };
      b.tokens = Math.min(rule.burst, b.tokens + ((t - b.at) / 1000) * rule.rate);
      b.at = t;
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / rule.rate));
    },
    size: () => buckets.size,
  };
}

export const RATE_LIMITS = {
  /** Per client address, every request. */
  address: { rate: 200, burst: 400 },
  /** Per credential, every authenticated request. */
  credential: { rate: 100, burst: 200 },
  /** Per client address, sign-in attempts. */
  login: { rate: 1, burst: 10 },
} as const satisfies Record<string, RateLimitRule>;
