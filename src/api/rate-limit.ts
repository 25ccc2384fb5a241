/**
 * Per-key intake limit: a token bucket per API key id. A request that finds the bucket empty is
 * answered 429 with the whole seconds until a token is back (Retry-After).
 */
export interface IntakeLimit {
  /** Sustained requests per second per key. */
  ratePerSecond: number;
  /** Requests a key may make at once before the rate applies. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class KeyRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: IntakeLimit,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Takes one token for `keyId`; returns 0 when allowed, else the seconds to wait (≥ 1). */
  take(keyId: string): number {
    const now = this.nowMs();
    const bucket = this.buckets.get(keyId) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(
      this.limit.burst,
      bucket.tokens + ((now - bucket.at) / 1000) * this.limit.ratePerSecond,
    );
    bucket.at = now;
    this.buckets.set(keyId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.ratePerSecond));
  }
}
