/**
 * The one backoff every retry in callbackd uses (platform calls, jobs, outbox deliveries, the
 * notification socket): an exponential ceiling base·2^(n-1) capped at max, then jitter so that
 * clients that failed together do not retry together. Pure: the random source is passed in.
 */

export interface BackoffOptions {
  /** Ceiling of the first retry's delay. */
  baseDelayMs: number;
  /** No delay exceeds this. */
  maxDelayMs: number;
  /**
   * 'full' (AWS full jitter): uniform in [0, ceiling), the default.
   * A number j in (0, 1]: uniform in ceiling·[1 − j/2, 1 + j/2], capped at max (e.g. 0.5 = ±25 %).
   * 'none': exactly the ceiling.
   */
  jitter?: 'full' | 'none' | number;
}

/** The un-jittered delay before retry number `retry` (1 for the first retry). */
export function backoffCeilingMs(
  retry: number,
  o: Pick<BackoffOptions, 'baseDelayMs' | 'maxDelayMs'>,
): number {
  // Exponent capped so a large retry count never overflows to Infinity·0 = NaN.
  return Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(Math.max(0, retry - 1), 40));
}

/** Delay before retry number `retry` (1 for the first retry). */
export function backoffMs(retry: number, o: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = backoffCeilingMs(retry, o);
  const jitter = o.jitter ?? 'full';
  if (jitter === 'none') return ceiling;
  if (jitter === 'full') return Math.floor(random() * ceiling);
  return Math.round(Math.min(o.maxDelayMs, ceiling * (1 - jitter / 2 + random() * jitter)));
}

/** What a retry loop asks: the delay before retry number `retry`. */
export interface Backoff {
  delayMs(retry: number): number;
}

/** A Backoff bound to its options and random source. */
export function createBackoff(o: BackoffOptions, random: () => number = Math.random): Backoff {
  return { delayMs: (retry) => backoffMs(retry, o, random) };
}
