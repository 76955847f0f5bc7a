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

/** Sign-in attempts per client address: a burst of 10, then one a second. */
export const LOGIN_LIMIT: RateLimitRule = { rate: 1, burst: 10 };

/** A rule from a configured rate (requests per second, bursts of twice that); undefined when off. */
export function ruleOf(perSecond: number): RateLimitRule | undefined {
  return perSecond > 0 ? { rate: perSecond, burst: perSecond * 2 } : undefined;
}
