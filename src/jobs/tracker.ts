/**
 * Follows every submitted callback to its end (DESIGN.md §4, polling mode) while spending few
 * platform calls:
 *
 * - The poll (every pollIntervalMs) reads only callbacks that can have changed: due or past due,
 *   or changed recently (Store.listTrackable). A callback that just went pending is read at
 *   +5 s, +15 s, +45 s (a platform may drop it right after accepting it) and then left alone
 *   until it is due. A due callback is read as it falls due; while it is active (an agent
 *   alerted, the customer dialled or talking) it is read every poll; while it waits in the queue
 *   for a free agent it is read less and less often, at most sweepIntervalMs apart.
 * - The reconciliation sweep (every sweepIntervalMs) walks every non-terminal callback a page at a
 *   time, resuming where the previous sweep stopped, and reads at most sweepMaxChecks per run,
 *   each only if it has not been read lately (see sweepSpacingMs): it repairs what the poll cannot
 *   see (a callback disconnected on the platform days before its time) without bursts of calls
 *   and without holding all callbacks in memory.
 *
 * The platform has no batch read of live callback conversations, so by default (readMode 'get')
 * each read is one GET, run with bounded concurrency. readMode 'analytics' instead reads all the
 * callbacks a pass would read with one analytics details query per 100: far fewer calls, but the
 * answer lags the live conversation (analyticsLagMs) and carries no errorInfo, so a callback the
 * query does not hold yet is left for the next pass, and an ended one that reads as rejected is
 * confirmed with a GET (a queue-full drop, which is retried, looks like any other error there).
 * A lagging read can never move a callback backwards: only an ended (or agent-connected)
 * conversation leads to a transition, always from `pending`.
 *
 * Each change is one guarded Store.transition (from `pending`) carrying its history and outbox
 * rows; a concurrent change (cancel, another tracker) makes it a no-op.
 *
 * Event mode (events-listener.ts) turns the poll off (`poll: false`): platform events bring the
 * changes and go through applyConversation, the same path the poll's reads take; the sweep still
 * runs and repairs what events missed (a socket down, a channel being renewed).
 */
import { ERROR_CODES } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import type { Clock, EpochMs, Reason } from '../domain/types.js';
import { platformChange } from '../genesys/platform-change.js';
import type { GenesysPort, PlatformConversation } from '../genesys/port.js';
import { type MappedConversation, mapConversation } from '../genesys/state-map.js';
import { DEFAULT_EVENT_CHANNELS, type EventChannel, transitionOf } from '../ledger/events.js';
import type { CallbackRecord, Store } from '../ledger/port.js';
import type { PolicyLookup } from './capacity.js';
import { reattemptTransition } from './reattempt.js';

export interface TrackerOptions {
  store: Store;
  genesys: Pick<GenesysPort, 'getConversation'> & Partial<Pick<GenesysPort, 'getConversationsByIds'>>;
  /** 'get': one GET per callback read (default). 'analytics': batched reads (see above). */
  readMode?: TrackingReadMode;
  clock: Clock;
  policies: PolicyLookup;
  channels?: readonly EventChannel[];
  /** False in event mode: runOnce only sweeps (events bring the changes). Default true. */
  poll?: boolean;
  /** How often the poll runs; each trackable callback is read at most this often. 5000–10000. */
  pollIntervalMs?: number;
  /** How often the reconciliation sweep runs. */
  sweepIntervalMs?: number;
  /** A callback changed in the ledger within this window is polled even if not yet due. */
  recentChangeWindowMs?: number;
  /** Callbacks read per poll at most (the rest wait for the next poll, least recently read first). */
  pollBatchSize?: number;
  /** Page size of the sweep's walk over non-terminal callbacks. */
  sweepPageSize?: number;
  /** Platform reads per sweep at most. */
  sweepMaxChecks?: number;
  /** Bounds of how often the sweep re-reads a callback that is not yet due (see sweepSpacingMs). */
  sweepMinFutureSpacingMs?: number;
  sweepMaxSpacingMs?: number;
  /** Platform reads in flight at once. */
  concurrency?: number;
  /** Longest spacing of reads of a live call that has not changed (see nextPollAt). */
  activeMaxSpacingMs?: number;
  /** A platform-side schedule/queue change is recorded only once the ledger row has been still this long. */
  platformChangeSettleMs?: number;
  random?: () => number;
  /** Called with errors a pass caught (one callback's failure never stops the others). */
  onError?: (err: unknown, callback: CallbackRecord) => void;
  /** Cluster mode: keeps the callbacks this instance claimed to read (the others read the rest). */
  claimReads?: (recs: CallbackRecord[]) => Promise<CallbackRecord[]>;
  /** Cluster mode: where the sweep resumes, shared by every instance. */
  sweepPosition?: {
    /** Whether this instance takes the cluster's next sweep (none ran within intervalMs). */
    claimTurn(now: EpochMs, intervalMs: number): Promise<boolean>;
    load(): Promise<number | null>;
    save(pk: number | null): Promise<void>;
  };
}

export type TrackingReadMode = 'get' | 'analytics';

/** How far before a callback's creation in the ledger the batch query's interval starts (clock skew). */
const ANALYTICS_INTERVAL_BEFORE_MS = 3_600_000;
/** How far past now it ends: conversations are created now or earlier, this only absorbs skew. */
const ANALYTICS_INTERVAL_AFTER_MS = 86_400_000;

export const TRACKER_DEFAULTS = {
  pollIntervalMs: 5_000,
  sweepIntervalMs: 60_000,
  recentChangeWindowMs: 120_000,
  pollBatchSize: 200,
  sweepPageSize: 200,
  sweepMaxChecks: 200,
  sweepMinFutureSpacingMs: 10 * 60_000,
  sweepMaxSpacingMs: 6 * 3_600_000,
  concurrency: 4,
  platformChangeSettleMs: 60_000,
  activeMaxSpacingMs: 30_000,
} as const;

export interface TrackPassResult {
  /** Platform reads made. */
  checked: number;
  /** Transitions applied. */
  changed: number;
  errors: number;
}

export interface Tracker {
  /** Reads the callbacks that can have changed now. */
  pollOnce(): Promise<TrackPassResult>;
  /** One reconciliation run over (a budget of) all non-terminal callbacks. */
  sweepOnce(): Promise<TrackPassResult>;
  /** A poll, plus a sweep when sweepIntervalMs has passed since the last one. For a worker loop. */
  runOnce(): Promise<TrackPassResult>;
  /** Reads one callback now and applies what the platform says. Returns the row after it. */
  refresh(record: CallbackRecord): Promise<CallbackRecord>;
  /**
   * Applies a conversation obtained elsewhere (a platform event) exactly as a poll's read would,
   * and records the callback as read. True when a transition was written.
   */
  applyConversation(record: CallbackRecord, conversation: PlatformConversation): Promise<boolean>;
}

export function createTracker(options: TrackerOptions): Tracker {
  const o = {
    ...TRACKER_DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as Required<Omit<TrackerOptions, 'onError' | 'poll' | 'readMode'>> & Pick<TrackerOptions, 'onError'>;
  const pollEnabled = options.poll ?? true;
  const readMode = options.readMode ?? 'get';
  const { store, genesys, clock } = options;
  const batchRead = genesys.getConversationsByIds?.bind(genesys);
  if (readMode === 'analytics' && !batchRead) {
    throw new Error("readMode 'analytics' needs a genesys port with getConversationsByIds");
  }
  const channels = options.channels ?? DEFAULT_EVENT_CHANNELS;
  const random = options.random ?? Math.random;

  // Conversation "shape" last seen per callback and when it last differed: a platform-side change
  // (the customer being dialled) keeps a callback on the fast poll although the ledger is unchanged.
  // Entries go when the callback ends; the cap bounds memory if rows vanish some other way.
  const lastSeen = new Map<number, { shape: string; changedAt: EpochMs; active: boolean }>();
  const LAST_SEEN_CAP = 100_000;
  let sweepCursor: number | null = null;
  let lastSweepAt: EpochMs | null = null;
  const claim = async (recs: CallbackRecord[]) =>
    options.claimReads && recs.length > 0 ? options.claimReads(recs) : recs;

  function scheduledMs(rec: CallbackRecord): EpochMs {
    return Date.parse(rec.spec.scheduledTime);
  }

  /** When the poll should next read a trackable callback. */
  function nextPollAt(rec: CallbackRecord): EpochMs {
    const due = scheduledMs(rec);
    const seen = lastSeen.get(rec.pk);
    const lastMoveAt = Math.max(rec.updatedAt, seen?.changedAt ?? 0);
    const last = rec.lastCheckedAt;
    if (last === null || last < due) {
      // Not read since it fell due (or not due yet): it is here because it changed recently
      // (a platform may drop a callback right after accepting it). Read 5 s after the change,
      // then +15 s, +45 s, ...; and in any case as soon as it falls due.
      const afterMove =
        last === null || last < lastMoveAt
          ? lastMoveAt + o.pollIntervalMs
          : last + Math.max(o.pollIntervalMs, 2 * (last - lastMoveAt));
      return Math.min(afterMove, Math.max(due, last ?? 0));
    }
    // Dialling, ringing, talking: the end can come any second, but a call that has not changed
    // for a while (a long talk) is read less often, at most activeMaxSpacingMs apart: the outcome
    // waits for the end and the wrap-up now, and the notification channel (on by default) brings
    // the end at once anyway.
    if (seen?.active) {
      const stableMs = last - Math.max(seen.changedAt, lastMoveAt);
      return last + Math.min(o.activeMaxSpacingMs, Math.max(o.pollIntervalMs, stableMs / 2));
    }
    // Waiting in the queue for a free agent: back off (a backlog can last hours), never beyond
    // sweepIntervalMs; the first read that sees it active puts it back on the fast poll.
    const waitedMs = last - Math.max(due, lastMoveAt);
    return last + Math.min(o.sweepIntervalMs, Math.max(o.pollIntervalMs, waitedMs));
  }

  /**
   * How long the sweep leaves a callback between reads. The poll reads every callback once it is
   * due, so for a future one the sweep only brings news of a rare platform-side change forward:
   * it re-reads it after the time left until it is due, between sweepMinFutureSpacingMs and
   * sweepMaxSpacingMs. A due one is the poll's; the sweep reads it only if the poll has not for
   * sweepIntervalMs (a poll batch that could not keep up).
   */
  function sweepSpacingMs(rec: CallbackRecord, now: EpochMs): number {
    const untilDueMs = scheduledMs(rec) - now;
    if (untilDueMs <= 0) return o.sweepIntervalMs;
    return Math.min(o.sweepMaxSpacingMs, Math.max(o.sweepMinFutureSpacingMs, untilDueMs));
  }

  async function readAndApply(rec: CallbackRecord, result: TrackPassResult): Promise<void> {
    if (!rec.conversationId) return;
    result.checked++;
    try {
      const conversation = await genesys.getConversation(rec.conversationId);
      if (await apply(rec, conversation)) result.changed++;
    } catch (err) {
      result.errors++;
      o.onError?.(err, rec);
    }
  }

  /** Applies what the platform says about `rec`. True when a transition was written. */
  async function apply(rec: CallbackRecord, read: PlatformConversation): Promise<boolean> {
    const now = clock.now();
    let conversation = read;
    const policy = o.policies(rec.spec.routingData.queueId);
    const mapOptions = { wrapUpOutcomes: policy?.wrapUpOutcomes, now };
    let mapped = mapConversation(conversation, mapOptions);
    if (!mapped.complete && rec.status === 'pending') {
      // An event or callback GET says it ended; how needs the voice legs and the wrap-up.
      conversation = await genesys.getConversation(conversation.id);
      mapped = mapConversation(conversation, mapOptions);
    }
    const shape = conversationShape(conversation);
    const seen = lastSeen.get(rec.pk);
    if (!seen || seen.shape !== shape) {
      if (lastSeen.size >= LAST_SEEN_CAP) lastSeen.clear();
      // First sighting: when it last moved is unknown; the ledger's last change stands in for it.
      const changedAt = seen ? now : rec.updatedAt;
      lastSeen.set(rec.pk, { shape, changedAt, active: isActive(conversation) });
    }
    if (rec.status !== 'pending') return false;
    if (mapped.status === 'pending') return applyLive(rec, conversation, mapped, now);
    lastSeen.delete(rec.pk);
    const dialed = firstDialed(rec, mapped);

    if (mapped.status === 'rejected' && mapped.capacity) {
      const policy = o.policies(rec.spec.routingData.queueId);
      const retry = policy?.rejectionRetry ?? LIMITS.defaultRejectionRetry;
      // rejectionRetry.attempts = resubmissions after the first refused one.
      const retriesUsed = Math.max(0, rec.attempts - 1);
      if (retriesUsed < retry.attempts) {
        const { min, max } = retry.delayMinutes;
        const nextAttemptAt = now + Math.round((min + random() * (max - min)) * 60_000);
        const reason: Reason = {
          code: mapped.reason?.code ?? ERROR_CODES.QUEUE_FULL,
          message: `the platform refused the callback for capacity (${mapped.reason?.message ?? 'queue full'}); retry ${retriesUsed + 1} of ${retry.attempts} at ${new Date(nextAttemptAt).toISOString()}`,
        };
        const done = await store.transition(
          transitionOf(
            rec,
            {
              from: ['pending'],
              to: 'accepted',
              reason,
              at: now,
              // The refused conversation is over; the next submit creates a new one.
              set: { conversationId: null, nextAttemptAt, submitInFlightAt: null, firstDialedAt: null },
              enqueue: { kind: 'submit', callbackPk: rec.pk, runAt: nextAttemptAt },
            },
            channels,
          ),
        );
        return done !== null;
      }
      const done = await store.transition(
        transitionOf(
          rec,
          {
            from: ['pending'],
            to: 'rejected',
            reason: {
              code: ERROR_CODES.RETRIES_EXHAUSTED,
              message: `the platform refused the callback for capacity on each of ${rec.attempts} attempts (last: ${mapped.reason?.message ?? 'queue full'})`,
            },
            at: now,
            set: { nextAttemptAt: null, ...dialed },
          },
          channels,
        ),
      );
      return done !== null;
    }

    // The re-attempt ladder: an attempt that did not reach the customer may get a next one.
    const ladder = reattemptTransition(rec, mapped, o.policies(rec.spec.routingData.queueId), now, channels);
    if (ladder) return (await store.transition(ladder)) !== null;

    const done = await store.transition(
      transitionOf(
        rec,
        {
          from: ['pending'],
          to: mapped.status,
          reason: mapped.reason,
          at: now,
          set: { nextAttemptAt: null, ...dialed },
        },
        channels,
      ),
    );
    return done !== null;
  }

  /** The first dial of this attempt, when the read shows one the ledger does not hold yet. */
  function firstDialed(rec: CallbackRecord, mapped: MappedConversation): { firstDialedAt?: EpochMs } {
    return rec.firstDialedAt === null && mapped.firstDialedAt !== undefined
      ? { firstDialedAt: mapped.firstDialedAt }
      : {};
  }

  /**
   * Still live: record the first dial, and what an agent or supervisor changed on the platform (a
   * new callbackScheduledTime or queue) as a history entry the CRM is told of, with the resource's
   * spec following the platform. True when a history entry was written.
   */
  async function applyLive(
    rec: CallbackRecord,
    conversation: PlatformConversation,
    mapped: MappedConversation,
    now: EpochMs,
  ): Promise<boolean> {
    const dialed = firstDialed(rec, mapped);
    // Our own change of a moment ago may not have reached the platform yet (a reschedule follow-up).
    const change =
      now - rec.updatedAt >= o.platformChangeSettleMs ? platformChange(rec, conversation, o.policies) : null;
    if (change) {
      const done = await store.transition(
        transitionOf(
          rec,
          {
            from: ['pending'],
            to: 'pending',
            reason: change.reason,
            at: now,
            set: { spec: change.spec, ...dialed },
          },
          channels,
        ),
      );
      return done !== null;
    }
    if (dialed.firstDialedAt !== undefined) {
      // No history row and no event: the first dial is a fact for the dashboard, not a status change.
      await store.transition({
        pk: rec.pk,
        from: ['pending'],
        to: 'pending',
        reason: null,
        at: now,
        set: dialed,
        outbox: [],
      });
    }
    return false;
  }

  /**
   * readMode 'analytics': one details query per 100 callbacks. Each conversation found goes through
   * apply() like a GET's; one not found (too new for analytics) is left, unrecorded, for the next
   * pass. Only the callbacks found are recorded as read.
   */
  async function runBatchedChecks(recs: CallbackRecord[]): Promise<TrackPassResult> {
    const result: TrackPassResult = { checked: 0, changed: 0, errors: 0 };
    const byConversation = new Map<string, CallbackRecord>();
    for (const rec of recs) if (rec.conversationId) byConversation.set(rec.conversationId, rec);
    if (byConversation.size === 0 || !batchRead) return result;
    const now = clock.now();
    const oldest = Math.min(...[...byConversation.values()].map((r) => r.createdAt));
    let found: PlatformConversation[];
    try {
      // One query per 100 ids (the client's page of the details query).
      result.checked += Math.ceil(byConversation.size / 100);
      found = await batchRead(
        [...byConversation.keys()],
        oldest - ANALYTICS_INTERVAL_BEFORE_MS,
        now + ANALYTICS_INTERVAL_AFTER_MS,
      );
    } catch (err) {
      result.errors++;
      // One failed query fails the whole batch: report it once, not once per callback.
      o.onError?.(err, byConversation.values().next().value!);
      return result;
    }
    const read: number[] = [];
    for (const conversation of found) {
      const rec = byConversation.get(conversation.id);
      if (!rec) continue;
      byConversation.delete(conversation.id);
      read.push(rec.pk);
      if (
        mapConversation(conversation, {
          wrapUpOutcomes: o.policies(rec.spec.routingData.queueId)?.wrapUpOutcomes,
        }).status === 'rejected'
      ) {
        // Analytics has no errorInfo: the live conversation tells a queue-full drop (retried)
        // from a final rejection.
        await readAndApply(rec, result);
        continue;
      }
      try {
        if (await apply(rec, conversation)) result.changed++;
      } catch (err) {
        result.errors++;
        o.onError?.(err, rec);
      }
    }
    if (read.length > 0) await store.recordChecked(read, clock.now());
    return result;
  }

  async function runChecks(recs: CallbackRecord[]): Promise<TrackPassResult> {
    if (readMode === 'analytics') return runBatchedChecks(recs);
    const result: TrackPassResult = { checked: 0, changed: 0, errors: 0 };
    let next = 0;
    const worker = async () => {
      while (next < recs.length) await readAndApply(recs[next++]!, result);
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, recs.length) }, worker));
    const read = recs.filter((r) => r.conversationId).map((r) => r.pk);
    if (read.length > 0) await store.recordChecked(read, clock.now());
    return result;
  }

  const tracker: Tracker = {
    async pollOnce() {
      const now = clock.now();
      const candidates = await store.listTrackable(
        now + o.pollIntervalMs,
        now - o.recentChangeWindowMs,
        o.pollBatchSize,
      );
      const due = candidates.filter(
        (rec) =>
          rec.status === 'pending' &&
          rec.conversationId !== null &&
          // A small allowance so a read that landed just after the previous poll still counts.
          now >= nextPollAt(rec) - 250,
      );
      return runChecks(await claim(due));
    },

    async sweepOnce() {
      const now = clock.now();
      lastSweepAt = now;
      const total: TrackPassResult = { checked: 0, changed: 0, errors: 0 };
      let budget = o.sweepMaxChecks;
      if (options.sweepPosition) sweepCursor = await options.sweepPosition.load();
      while (budget > 0) {
        const page = await store.listNonTerminal(sweepCursor, o.sweepPageSize);
        // Only callbacks the platform holds, and only those not read lately (see sweepSpacingMs).
        const stale = page.items.filter(
          (rec) =>
            rec.status === 'pending' &&
            rec.conversationId !== null &&
            // Never read: a new callback is the poll's first; the sweep counts from its last change.
            now - (rec.lastCheckedAt ?? rec.updatedAt) >= sweepSpacingMs(rec, now),
        );
        const take = stale.slice(0, budget);
        const r = await runChecks(await claim(take));
        total.checked += r.checked;
        total.changed += r.changed;
        total.errors += r.errors;
        budget -= take.length;
        if (take.length < stale.length) {
          // Budget spent inside this page: resume just after the last callback read.
          sweepCursor = take.at(-1)?.pk ?? sweepCursor;
          break;
        }
        if (page.nextAfterPk === null) {
          // End of the list: the next sweep starts from the beginning.
          sweepCursor = null;
          break;
        }
        sweepCursor = page.nextAfterPk;
      }
      await options.sweepPosition?.save(sweepCursor);
      return total;
    },

    async runOnce() {
      const polled = pollEnabled ? await tracker.pollOnce() : { checked: 0, changed: 0, errors: 0 };
      const due = lastSweepAt === null || clock.now() - lastSweepAt >= o.sweepIntervalMs;
      if (
        due &&
        options.sweepPosition &&
        !(await options.sweepPosition.claimTurn(clock.now(), o.sweepIntervalMs))
      ) {
        // Another instance swept within the interval: this one's turn waits for the next.
        lastSweepAt = clock.now();
      } else if (due) {
        const swept = await tracker.sweepOnce();
        return {
          checked: polled.checked + swept.checked,
          changed: polled.changed + swept.changed,
          errors: polled.errors + swept.errors,
        };
      }
      return polled;
    },

    async refresh(record) {
      if (record.conversationId && record.status === 'pending') {
        const conversation = await genesys.getConversation(record.conversationId);
        await apply(record, conversation);
        await store.recordChecked([record.pk], clock.now());
      }
      return (await store.getByPk(record.pk)) ?? record;
    },

    async applyConversation(record, conversation) {
      if (record.status !== 'pending' || record.conversationId !== conversation.id) return false;
      const changed = await apply(record, conversation);
      await store.recordChecked([record.pk], clock.now());
      return changed;
    },
  };
  return tracker;
}

const ENDED_STATES = new Set(['disconnected', 'terminated']);

/**
 * An agent is on it or the customer is being dialled or talked to: the end can come any second.
 * The customer's callback media is `connected` the whole time the callback waits in the queue, so
 * it says nothing; the agent's callback media and the voice legs do.
 */
function isActive(conversation: PlatformConversation): boolean {
  return conversation.participants.some(
    (p) =>
      (p.purpose === 'agent' &&
        p.callbackMedia !== false &&
        !ENDED_STATES.has(p.state ?? '') &&
        p.endTime === undefined) ||
      (p.calls ?? []).some((l) => !ENDED_STATES.has(l.state ?? '') && l.disconnectedTime === undefined),
  );
}

/** What of a conversation can change while it is live: each participant's media and their states. */
function conversationShape(conversation: PlatformConversation): string {
  return conversation.participants
    .map(
      (p) =>
        `${p.purpose ?? ''}:${p.state ?? ''}:${p.connectedTime ? 1 : 0}:${p.endTime ? 1 : 0}:${p.callbackScheduledTime ?? ''}:${(p.calls ?? []).map((l) => `${l.state ?? ''}${l.connectedTime ? 1 : 0}`).join(',')}`,
    )
    .join('|');
}
