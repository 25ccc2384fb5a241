/**
 * Capacity pre-flight (DESIGN.md §4): before each create request the submitter asks whether the
 * queue has room. Room is the queue's waiting callbacks (queue observations query, cached a few
 * seconds so a burst of submits costs one platform call) against the policy's `maxCallbacks`.
 * When full, the callback goes to the queue's `overflowQueueId` if that queue has room (one hop,
 * never a chain), otherwise it is deferred by a randomized delay so deferred callbacks do not all
 * come back at the same instant.
 */
import { ERROR_CODES } from '../domain/errors.js';
import type { QueuePolicy } from '../domain/policy.js';
import type { Clock, EpochMs, Reason } from '../domain/types.js';
import type { GenesysPort } from '../genesys/port.js';

export type PolicyLookup = (queueId: string) => QueuePolicy | undefined;

export type PreflightDecision =
  /**
   * Send the create request to `queueId`. When it differs from the callback's own queue,
   * `reason` (code ROUTED_TO_OVERFLOW) belongs in the history row of the accepted → pending change.
   */
  | { action: 'submit'; queueId: string; reason: Reason | null }
  /** Do not send now: run the submit job again at `runAt` (reason code QUEUE_FULL). */
  | { action: 'defer'; runAt: EpochMs; reason: Reason };

/** Status reason for a callback sent to the overflow queue. */
export const ROUTED_TO_OVERFLOW = ERROR_CODES.ROUTED_TO_OVERFLOW;

/** Cluster mode: one cache of observations for every instance (kept in the ledger). */
export interface SharedCapacityCache {
  get(queueId: string): Promise<{ waiting: number; at: EpochMs } | null>;
  put(queueId: string, waiting: number, at: EpochMs): Promise<void>;
  noteSubmitted(queueId: string): Promise<void>;
}

export interface CapacityOptions {
  genesys: Pick<GenesysPort, 'queueObservations'>;
  clock: Clock;
  policies: PolicyLookup;
  /** How long one observation of a queue is reused. */
  cacheMs?: number;
  /** A full queue defers the submit by a uniform delay in [deferMinMs, deferMaxMs]. */
  deferMinMs?: number;
  deferMaxMs?: number;
  random?: () => number;
  shared?: SharedCapacityCache;
}

export const CAPACITY_DEFAULTS = { cacheMs: 5_000, deferMinMs: 60_000, deferMaxMs: 180_000 } as const;

export interface CapacityGate {
  /** The submitter's hook: call before every create request for a callback of `queueId`. */
  preflight(queueId: string): Promise<PreflightDecision>;
  /**
   * Tell the gate a create request to `queueId` succeeded, so the cached count includes it until
   * the next observation (a burst of submits inside the cache window cannot overshoot the limit).
   */
  noteSubmitted(queueId: string): void;
}

export function createCapacityGate(options: CapacityOptions): CapacityGate {
  const cacheMs = options.cacheMs ?? CAPACITY_DEFAULTS.cacheMs;
  const deferMinMs = options.deferMinMs ?? CAPACITY_DEFAULTS.deferMinMs;
  const deferMaxMs = Math.max(deferMinMs, options.deferMaxMs ?? CAPACITY_DEFAULTS.deferMaxMs);
  const random = options.random ?? Math.random;
  const { clock, genesys, policies } = options;
  const cache = new Map<string, { waiting: number; at: EpochMs }>();
  // Concurrent preflights for one queue share one observation request.
  const inFlight = new Map<string, Promise<number>>();

  async function waiting(queueId: string): Promise<number> {
    const cached = cache.get(queueId);
    if (cached && clock.now() - cached.at < cacheMs) return cached.waiting;
    let pending = inFlight.get(queueId);
    if (!pending) {
      pending = observe(queueId).finally(() => inFlight.delete(queueId));
      inFlight.set(queueId, pending);
    }
    return pending;
  }

  async function observe(queueId: string): Promise<number> {
    const shared = await options.shared?.get(queueId);
    if (shared && clock.now() - shared.at < cacheMs && shared.at <= clock.now()) {
      cache.set(queueId, shared);
      return shared.waiting;
    }
    const obs = await genesys.queueObservations([queueId]);
    const count = obs.find((o) => o.queueId === queueId)?.waiting ?? 0;
    const at = clock.now();
    cache.set(queueId, { waiting: count, at });
    await options.shared?.put(queueId, count, at);
    return count;
  }

  async function hasRoom(queueId: string): Promise<{ room: boolean; waiting: number; max: number }> {
    const policy = policies(queueId);
    // A queue without a policy has no callbackd limit: only the platform's own.
    if (!policy) return { room: true, waiting: 0, max: Number.POSITIVE_INFINITY };
    const count = await waiting(queueId);
    return { room: count < policy.maxCallbacks, waiting: count, max: policy.maxCallbacks };
  }

  return {
    async preflight(queueId) {
      const own = await hasRoom(queueId);
      if (own.room) return { action: 'submit', queueId, reason: null };
      const overflowId = policies(queueId)?.overflowQueueId;
      if (overflowId && overflowId !== queueId) {
        const overflow = await hasRoom(overflowId);
        if (overflow.room) {
          return {
            action: 'submit',
            queueId: overflowId,
            reason: {
              code: ROUTED_TO_OVERFLOW,
              message: `queue ${queueId} was full (${own.waiting} of ${own.max} callbacks waiting); routed to its overflow queue ${overflowId}`,
            },
          };
        }
      }
      const delay = deferMinMs + Math.floor(random() * (deferMaxMs - deferMinMs));
      const runAt = clock.now() + delay;
      return {
        action: 'defer',
        runAt,
        reason: {
          code: ERROR_CODES.QUEUE_FULL,
          message: `queue ${queueId} is full (${own.waiting} of ${own.max} callbacks waiting)${
            overflowId ? ` and so is its overflow queue ${overflowId}` : ''
          }; submission deferred to ${new Date(runAt).toISOString()}`,
        },
      };
    },
    noteSubmitted(queueId) {
      const cached = cache.get(queueId);
      if (cached) cached.waiting++;
      // Best effort: a lost increment only lets the next observation correct the count.
      options.shared?.noteSubmitted(queueId).catch(() => undefined);
    },
  };
}
