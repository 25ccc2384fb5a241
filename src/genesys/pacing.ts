/**
 * Per-resource pacing from the platform's own account of its limits. Genesys sends
 * `inin-ratelimit-allowed`, `-count` and `-reset` (seconds) on ordinary answers too, and `allowed`
 * can be below the per-token 300/min because some resources have lower limits of their own
 * (GENESYS.md, "Rate limits" [live]). The token bucket (rate-limit.ts, or the cluster's shared
 * budget behind the same interface) keeps the whole client inside its budget; this piece sits in
 * front of it and slows only the resource whose headers say it is nearly spent:
 *
 * - a resource whose `allowed` is below the bucket's rate spreads what is left of its window
 *   evenly over the time until `reset`;
 * - any resource with nothing left (count ≥ allowed), or answered 429 with Retry-After, waits
 *   until its window resets.
 *
 * Resources are keyed by the caller's route template (one per endpoint): the platform's limits are
 * per resource and it does not name them, so the endpoint is the closest honest key.
 */
import type { Clock, EpochMs } from '../domain/types.js';
import { sleep as realSleep, type Sleep } from '../shared/sleep.js';
import { type HttpAnswer, headerValue } from './transport.js';

interface ResourceState {
  allowed: number;
  /** Requests left in the window, counted down locally between answers. */
  remaining: number;
  resetAt: EpochMs;
  nextAt: EpochMs;
  /** What is left of the window spread over the time until reset, as of the last answer. */
  spacingMs: number;
}

export interface HeaderPacerOptions {
  clock: Clock;
  sleep?: Sleep;
  /** The bucket's requests per minute: a resource allowing fewer is paced. */
  bucketPerMinute: number;
}

export interface PacerStats {
  /** Answers that carried the inin-ratelimit-* headers. */
  headersSeen: number;
  /** Requests that waited for a resource's window. */
  pacedRequests: number;
  pacedMs: number;
}

function num(headers: HttpAnswer['headers'], name: string): number | undefined {
  const v = headerValue(headers, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export class HeaderPacer {
  private readonly resources = new Map<string, ResourceState>();
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly bucketPerMinute: number;
  readonly stats: PacerStats = { headersSeen: 0, pacedRequests: 0, pacedMs: 0 };

  constructor(o: HeaderPacerOptions) {
    this.clock = o.clock;
    this.sleep = o.sleep ?? realSleep;
    this.bucketPerMinute = o.bucketPerMinute;
  }

  /** Records what an answer's headers say of its resource's window (and a 429's Retry-After). */
  observe(resource: string, answer: Pick<HttpAnswer, 'status' | 'headers'>, retryAfterMs?: number): void {
    const now = this.clock.now();
    const allowed = num(answer.headers, 'inin-ratelimit-allowed');
    const count = num(answer.headers, 'inin-ratelimit-count');
    const resetS = num(answer.headers, 'inin-ratelimit-reset');
    const prev = this.resources.get(resource);
    if (allowed !== undefined && count !== undefined && allowed > 0) {
      this.stats.headersSeen++;
      const resetAt = now + Math.max(0, resetS ?? 60) * 1000;
      const remaining = Math.max(0, allowed - count);
      this.resources.set(resource, {
        allowed,
        remaining,
        resetAt,
        nextAt: prev?.nextAt ?? now,
        spacingMs: remaining > 0 ? (resetAt - now) / remaining : resetAt - now,
      });
    }
    if (answer.status === 429) {
      // Retry-After is the platform's word for this refusal; the window's reset only stands in for it.
      const until = now + (retryAfterMs ?? (resetS !== undefined ? resetS * 1000 : 0));
      const s = this.resources.get(resource) ?? {
        allowed: 0,
        remaining: 0,
        resetAt: until,
        nextAt: now,
        spacingMs: 0,
      };
      s.remaining = 0;
      s.resetAt = until;
      this.resources.set(resource, s);
    }
  }

  /** How long a request to `resource` should wait now; reserves its place. */
  reserve(resource: string): number {
    const s = this.resources.get(resource);
    if (!s) return 0;
    const now = this.clock.now();
    if (now >= s.resetAt) {
      // The window the headers described is over; the next answer says how the new one stands.
      this.resources.delete(resource);
      return 0;
    }
    let at: EpochMs;
    if (s.remaining <= 0) {
      at = Math.max(s.resetAt, s.nextAt);
    } else if (s.allowed < this.bucketPerMinute) {
      // Spread what is left of the window over the time until it resets.
      at = Math.max(now, s.nextAt);
      s.nextAt = at + s.spacingMs;
    } else {
      at = now;
    }
    s.remaining = Math.max(0, s.remaining - 1);
    return Math.max(0, at - now);
  }

  /** Sleeps a reservation's wait (from reserve). */
  async wait(_resource: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    this.stats.pacedRequests++;
    this.stats.pacedMs += ms;
    await this.sleep(ms, signal);
  }
}
