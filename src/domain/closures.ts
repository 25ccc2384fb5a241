/**
 * Queue closures (public holidays, a team offsite): whole local dates or local date-time ranges in
 * the queue's zone, each with an optional name. Pure: they resolve to UTC intervals per zone.
 */
import { Temporal } from 'temporal-polyfill';
import { z } from 'zod';
import { formatInstant } from './time.js';
import type { EpochMs } from './types.js';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const LOCAL_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?$/;

function parses(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}
const realDate = (v: string) => parses(() => Temporal.PlainDate.from(v, { overflow: 'reject' }));
const realDateTime = (v: string) => parses(() => Temporal.PlainDateTime.from(v, { overflow: 'reject' }));

const localDate = z
  .string()
  .refine((v) => DATE_RE.test(v) && realDate(v), { message: 'expected a local date "YYYY-MM-DD"' });
const localDateTime = z.string().refine((v) => LOCAL_RE.test(v) && realDateTime(v), {
  message: 'expected a local date-time "YYYY-MM-DDTHH:mm" (no offset: it is read in the queue\'s zone)',
});
const closureName = z.string().min(1).max(100).optional();

export const ClosureSchema = z.union([
  z.strictObject({ date: localDate, name: closureName }),
  z
    .strictObject({ from: localDateTime, to: localDateTime, name: closureName })
    // The field checks do not stop zod running this one, so it must not trust them.
    .refine(
      (c) =>
        !(LOCAL_RE.test(c.from) && LOCAL_RE.test(c.to) && realDateTime(c.from) && realDateTime(c.to)) ||
        Temporal.PlainDateTime.compare(c.from, c.to) < 0,
      { message: 'expected from before to', path: ['to'] },
    ),
]);
export type Closure = z.infer<typeof ClosureSchema>;

/** A closure resolved in a zone: [startMs, endMs). */
export interface ClosureInterval {
  startMs: EpochMs;
  endMs: EpochMs;
  /** e.g. `"Christmas" (2026-12-25)` or `2026-12-31T18:00–2027-01-01T09:00`. */
  label: string;
}

function resolve(closure: Closure, timeZone: string): ClosureInterval {
  const named = (what: string) => (closure.name ? `"${closure.name}" (${what})` : what);
  if ('date' in closure) {
    const day = Temporal.PlainDate.from(closure.date);
    return {
      startMs: day.toZonedDateTime({ timeZone }).epochMilliseconds,
      endMs: day.add({ days: 1 }).toZonedDateTime({ timeZone }).epochMilliseconds,
      label: named(closure.date),
    };
  }
  // A bound in a DST gap moves forward, as clocks do.
  const at = (local: string) =>
    Temporal.PlainDateTime.from(local).toZonedDateTime(timeZone, { disambiguation: 'compatible' })
      .epochMilliseconds;
  return { startMs: at(closure.from), endMs: at(closure.to), label: named(`${closure.from}–${closure.to}`) };
}

// Policies live as long as the process, so each closure list is resolved once per zone.
const cache = new WeakMap<readonly Closure[], Map<string, ClosureInterval[]>>();

/** The closures as UTC intervals in the queue's zone, sorted by start. */
export function closureIntervals(closures: readonly Closure[], timeZone: string): ClosureInterval[] {
  let byZone = cache.get(closures);
  if (!byZone) {
    byZone = new Map();
    cache.set(closures, byZone);
  }
  let intervals = byZone.get(timeZone);
  if (!intervals) {
    intervals = closures.map((c) => resolve(c, timeZone)).sort((a, b) => a.startMs - b.startMs);
    byZone.set(timeZone, intervals);
  }
  return intervals;
}

/** The closure covering the instant, if any (the one ending last when several overlap). */
export function closureAt(
  closures: readonly Closure[] | undefined,
  timeZone: string,
  epochMs: EpochMs,
): ClosureInterval | undefined {
  if (!closures || closures.length === 0) return undefined;
  let found: ClosureInterval | undefined;
  for (const c of closureIntervals(closures, timeZone)) {
    if (c.startMs > epochMs) break;
    if (epochMs < c.endMs && (!found || c.endMs > found.endMs)) found = c;
  }
  return found;
}

/** The end of the run of closures covering the instant (overlapping or adjacent ones merged). */
export function closedUntil(
  closures: readonly Closure[] | undefined,
  timeZone: string,
  epochMs: EpochMs,
): EpochMs {
  let t = epochMs;
  for (let c = closureAt(closures, timeZone, t); c; c = closureAt(closures, timeZone, t)) t = c.endMs;
  return t;
}

export function describeClosure(c: ClosureInterval): string {
  return `${c.label}, ${formatInstant(c.startMs)} to ${formatInstant(c.endMs)}`;
}
