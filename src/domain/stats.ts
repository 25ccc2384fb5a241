/**
 * The supervisor's figures, folded from per-slot groups: counts by status, the share of promises
 * kept (first dialled within N minutes after the promised time), expired and rejected by reason,
 * and attempts per completion. Pure: the groups and the zone come in, buckets go out.
 */
import { Temporal } from 'temporal-polyfill';
import { CALLBACK_STATUSES, type CallbackStatus, type EpochMs } from './types.js';

export const STATS_BUCKETS = ['15m', '1h', '1d'] as const;
export type StatsBucket = (typeof STATS_BUCKETS)[number];

export interface StatsGroup {
  slotStart: EpochMs;
  status: CallbackStatus;
  reasonCode: string | null;
  count: number;
  attempts: number;
  kept: number;
  due: number;
}

export interface StatsFigures {
  counts: Record<CallbackStatus, number>;
  /** Callbacks whose promise window has ended (cancelled ones excluded: nobody was owed a call). */
  due: number;
  kept: number;
  /** kept / due, or null when nothing was due yet. */
  keptShare: number | null;
  expiredByReason: Record<string, number>;
  rejectedByReason: Record<string, number>;
  completions: number;
  /** Platform submissions per completed callback, or null without completions. */
  attemptsPerCompletion: number | null;
}

export interface StatsBucketFigures extends StatsFigures {
  start: EpochMs;
}

const NO_REASON = 'UNSPECIFIED';

function emptyFigures(): StatsFigures {
  return {
    counts: Object.fromEntries(CALLBACK_STATUSES.map((s) => [s, 0])) as Record<CallbackStatus, number>,
    due: 0,
    kept: 0,
    keptShare: null,
    expiredByReason: {},
    rejectedByReason: {},
    completions: 0,
    attemptsPerCompletion: null,
  };
}

interface Accumulator {
  figures: StatsFigures;
  completedAttempts: number;
}

function add(acc: Accumulator, g: StatsGroup): void {
  const f = acc.figures;
  f.counts[g.status] += g.count;
  if (g.status !== 'cancelled') {
    f.due += g.due;
    f.kept += g.kept;
  }
  const reason = g.reasonCode ?? NO_REASON;
  if (g.status === 'expired') f.expiredByReason[reason] = (f.expiredByReason[reason] ?? 0) + g.count;
  if (g.status === 'rejected') f.rejectedByReason[reason] = (f.rejectedByReason[reason] ?? 0) + g.count;
  if (g.status === 'completed') {
    f.completions += g.count;
    acc.completedAttempts += g.attempts;
  }
}

function finish(acc: Accumulator): StatsFigures {
  const f = acc.figures;
  // Kept can only count callbacks whose window is over, so the share never exceeds 1.
  f.kept = Math.min(f.kept, f.due);
  f.keptShare = f.due === 0 ? null : f.kept / f.due;
  f.attemptsPerCompletion = f.completions === 0 ? null : acc.completedAttempts / f.completions;
  return f;
}

/** Start of the bucket holding `at`: 15 minutes in UTC; hours and days in the queue's zone. */
export function bucketStart(at: EpochMs, bucket: StatsBucket, timeZone: string): EpochMs {
  if (bucket === '15m') return Math.floor(at / 900_000) * 900_000;
  const zoned = Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(timeZone);
  const start =
    bucket === '1h' ? zoned.round({ smallestUnit: 'hour', roundingMode: 'floor' }) : zoned.startOfDay();
  return start.epochMilliseconds;
}

/** The bucket after the one starting at `start` (days follow the zone's calendar, 23 or 25 h at DST). */
export function nextBucket(start: EpochMs, bucket: StatsBucket, timeZone: string): EpochMs {
  if (bucket === '15m') return start + 900_000;
  const zoned = Temporal.Instant.fromEpochMilliseconds(start).toZonedDateTimeISO(timeZone);
  return (bucket === '1h' ? zoned.add({ hours: 1 }) : zoned.add({ days: 1 })).epochMilliseconds;
}

/** How many buckets [from, to) spans, without building them. */
export function bucketCount(from: EpochMs, to: EpochMs, bucket: StatsBucket): number {
  const approxMs = bucket === '15m' ? 900_000 : bucket === '1h' ? 3_600_000 : 86_400_000;
  return Math.ceil((to - from) / approxMs) + 1;
}

export function foldStats(
  groups: readonly StatsGroup[],
  range: { from: EpochMs; to: EpochMs; bucket: StatsBucket; timeZone: string },
): { totals: StatsFigures; buckets: StatsBucketFigures[] } {
  const starts: EpochMs[] = [];
  for (
    let s = bucketStart(range.from, range.bucket, range.timeZone);
    s < range.to;
    s = nextBucket(s, range.bucket, range.timeZone)
  ) {
    starts.push(s);
  }
  const accs = new Map<EpochMs, Accumulator>(
    starts.map((s) => [s, { figures: emptyFigures(), completedAttempts: 0 }]),
  );
  const total: Accumulator = { figures: emptyFigures(), completedAttempts: 0 };
  for (const g of groups) {
    add(total, g);
    const acc = accs.get(bucketStart(g.slotStart, range.bucket, range.timeZone));
    if (acc) add(acc, g);
  }
  return {
    totals: finish(total),
    buckets: starts.map((start) => ({ start, ...finish(accs.get(start)!) })),
  };
}
