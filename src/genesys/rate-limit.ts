/**
 * Client-side token bucket shared by every platform call, so the org stays under its limit
 * (Genesys: 300 requests per minute per client-credentials token) instead of bouncing off it
 * with 429s.
 *
 * A plain bucket of capacity C refilled at N/min lets C + N requests through in some minute.
 * To keep *every* sliding minute at or under N, the refill rate is (N - C)/min: a full burst
 * plus a minute of refill is then exactly N. The burst is kept small (DEFAULT_MAX_BURST) because
 * it is paid for in sustained rate: a long drain runs at (N - C)/N of the limit.
 */
import type { Clock } from '../domain/types.js';
import { sleep as realSleep, type Sleep } from '../shared/sleep.js';

export interface RateLimiterOptions {
  requestsPerMinute: number;
  /** Requests allowed back to back after an idle spell; default a tenth of the limit, at most DEFAULT_MAX_BURST. */
  burst?: number;
  clock: Clock;
  sleep?: Sleep;
}

const MINUTE_MS = 60_000;
/** 10 of 300/min leaves 0.967 of the limit for a sustained drain (a tenth would leave 0.9). */
export const DEFAULT_MAX_BURST = 10;

/** The burst a TokenBucket of this limit uses: as given, else a tenth of the limit, at most DEFAULT_MAX_BURST. */
export function bucketBurst(requestsPerMinute: number, burst?: number): number {
  return Math.max(
    1,
    Math.min(burst ?? Math.min(DEFAULT_MAX_BURST, Math.floor(requestsPerMinute / 10)), requestsPerMinute - 1),
  );
}

export class TokenBucket {
  readonly requestsPerMinute: number;
  readonly burst: number;
  private readonly refillPerMs: number;
  private tokens: number;
  private updatedAt: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;

  constructor(opts: RateLimiterOptions) {
    if (!Number.isFinite(opts.requestsPerMinute) || opts.requestsPerMinute < 2) {
      throw new RangeError(`requestsPerMinute must be at least 2, got ${opts.requestsPerMinute}`);
    }
    this.requestsPerMinute = opts.requestsPerMinute;
    this.burst = bucketBurst(opts.requestsPerMinute, opts.burst);
    this.refillPerMs = (opts.requestsPerMinute - this.burst) / MINUTE_MS;
    this.clock = opts.clock;
    this.sleep = opts.sleep ?? realSleep;
    this.tokens = this.burst;
    this.updatedAt = opts.clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.refillPerMs);
    this.updatedAt = now;
  }

  /**
   * Reserves one request slot and returns how long to wait before using it (0 = now).
   * Reservations may drive the balance negative: that queues callers in arrival order.
   */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.refillPerMs);
  }

  /** Gives back a reservation that will not be used (its caller was aborted). */
  cancel(): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  /**
   * Waits for a slot. Resolves false (slot returned) when the signal aborts the wait, or at once
   * when the slot would come later than maxWaitMs.
   */
  async acquire(signal?: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const waitMs = this.reserve();
    if (waitMs > maxWaitMs) {
      this.cancel();
      return false;
    }
    if (waitMs > 0) await this.sleep(waitMs, signal);
    if (signal?.aborted) {
      this.cancel();
      return false;
    }
    return true;
  }
}
