/**
 * Bookable slots. A queue's day (in its zone) is cut into slots at every local wall-clock time
 * that is a multiple of `slots.minutes` after midnight; each slot runs to the next such instant.
 * So slots partition time with no gaps or overlaps across DST changes: a wall-clock time skipped
 * by a spring-forward starts no slot, and one that happens twice on a fall-back starts two.
 * A callback belongs to the slot its scheduled instant falls in. Pure: the clock and the counts
 * of taken units are arguments.
 */
import { Temporal } from 'temporal-polyfill';
import { closureAt } from './closures.js';
import {
  checkLeadTime,
  isQueueOpen,
  isWithinCallingWindow,
  openHoursContain,
  type QueuePolicy,
} from './policy.js';
import { hhmmToMs, zonedFacts } from './time.js';
import type { EpochMs } from './types.js';

const DAY_MS = 86_400_000;

export interface SlotRange {
  startMs: EpochMs;
  endMs: EpochMs;
}

export interface BookableSlot extends SlotRange {
  /** Units still free (capacity minus callbacks and live holds); null = the queue sets no capacity. */
  remaining: number | null;
}

export type SlotPolicy = Pick<
  QueuePolicy,
  'openHours' | 'closures' | 'slots' | 'minLeadSeconds' | 'maxLeadDays' | 'callingWindow'
>;

// Boundaries of one local day per zone and slot length; a slots query touches few distinct days.
const dayCache = new Map<string, { boundaries: EpochMs[]; endMs: EpochMs }>();
const DAY_CACHE_MAX = 4096;

function dayBoundaries(timeZone: string, minutes: number, date: Temporal.PlainDate) {
  const key = `${timeZone}|${minutes}|${date.toString()}`;
  const hit = dayCache.get(key);
  if (hit) return hit;
  const startMs = date.toZonedDateTime({ timeZone }).epochMilliseconds;
  const endMs = date.add({ days: 1 }).toZonedDateTime({ timeZone }).epochMilliseconds;
  const stepMs = minutes * 60_000;
  const boundaries: EpochMs[] = [];
  if (endMs - startMs === DAY_MS) {
    // No offset change this day: every step from local midnight is an aligned wall-clock time.
    for (let t = startMs; t < endMs; t += stepMs) boundaries.push(t);
  } else {
    // A DST day: keep each aligned wall-clock time at every instant it actually occurs.
    const seen = new Set<EpochMs>([startMs]);
    for (let m = 0; m < 1440; m += minutes) {
      const wall = date.toPlainDateTime({ hour: 0 }).add({ minutes: m });
      for (const disambiguation of ['earlier', 'later'] as const) {
        const z = wall.toZonedDateTime(timeZone, { disambiguation });
        if (z.toPlainDateTime().equals(wall)) seen.add(z.epochMilliseconds);
      }
    }
    boundaries.push(...[...seen].filter((t) => t >= startMs && t < endMs).sort((a, b) => a - b));
  }
  const day = { boundaries, endMs };
  if (dayCache.size >= DAY_CACHE_MAX) dayCache.clear();
  dayCache.set(key, day);
  return day;
}

function localDate(epochMs: EpochMs, timeZone: string): Temporal.PlainDate {
  return Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(timeZone).toPlainDate();
}

/** The slots whose start lies in [fromMs, toMs), in order. */
export function slotsBetween(timeZone: string, minutes: number, fromMs: EpochMs, toMs: EpochMs): SlotRange[] {
  const out: SlotRange[] = [];
  let date = localDate(fromMs, timeZone);
  for (;;) {
    const day = dayBoundaries(timeZone, minutes, date);
    if (day.boundaries[0]! >= toMs) break;
    day.boundaries.forEach((startMs, i) => {
      if (startMs >= fromMs && startMs < toMs)
        out.push({ startMs, endMs: day.boundaries[i + 1] ?? day.endMs });
    });
    date = date.add({ days: 1 });
  }
  return out;
}

/** The slot an instant falls in. */
export function slotContaining(timeZone: string, minutes: number, epochMs: EpochMs): SlotRange {
  const day = dayBoundaries(timeZone, minutes, localDate(epochMs, timeZone));
  const b = day.boundaries;
  let lo = 0;
  let hi = b.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (b[mid]! <= epochMs) lo = mid;
    else hi = mid - 1;
  }
  return { startMs: b[lo]!, endMs: b[lo + 1] ?? day.endMs };
}

/** Whether a slot start passes every time rule: lead limits, open hours, closures, calling window. */
export function isBookableTime(
  policy: SlotPolicy,
  startMs: EpochMs,
  nowMs: EpochMs,
  customerTimeZone: string,
): boolean {
  return (
    checkLeadTime(policy, startMs, nowMs) === undefined &&
    isQueueOpen(policy, startMs) &&
    isWithinCallingWindow(policy.callingWindow, startMs, customerTimeZone)
  );
}

/** One local day of a zone, for reading wall-clock facts of many instants without Temporal. */
interface LocalDay {
  startMs: EpochMs;
  endMs: EpochMs;
  dayOfWeek: number;
  /** Local minus UTC, when the whole day has one offset (not a DST day). */
  offsetMs: number | undefined;
}

/** Walks the local days of a zone for instants in ascending order. */
class DayCursor {
  #day: LocalDay | undefined;
  constructor(readonly timeZone: string) {}

  at(epochMs: EpochMs): LocalDay {
    const d = this.#day;
    if (d && epochMs >= d.startMs && epochMs < d.endMs) return d;
    const date = localDate(epochMs, this.timeZone);
    const startMs = date.toZonedDateTime({ timeZone: this.timeZone }).epochMilliseconds;
    const endMs = date.add({ days: 1 }).toZonedDateTime({ timeZone: this.timeZone }).epochMilliseconds;
    const wallMidnight = Date.UTC(date.year, date.month - 1, date.day);
    this.#day = {
      startMs,
      endMs,
      dayOfWeek: date.dayOfWeek,
      offsetMs: endMs - startMs === DAY_MS ? wallMidnight - startMs : undefined,
    };
    return this.#day;
  }

  /** Milliseconds since local midnight by the wall clock. */
  msOfDay(epochMs: EpochMs): number {
    const day = this.at(epochMs);
    return day.offsetMs === undefined ? zonedFacts(epochMs, this.timeZone).msOfDay : epochMs - day.startMs;
  }

  /** `YYYY-MM-DDTHH:mm:ss±HH:MM` on the zone's wall clock. */
  localIso(epochMs: EpochMs): string {
    const { offsetMs } = this.at(epochMs);
    if (offsetMs === undefined) {
      return Temporal.Instant.fromEpochMilliseconds(epochMs)
        .toZonedDateTimeISO(this.timeZone)
        .toString({ timeZoneName: 'never', smallestUnit: 'second' });
    }
    const abs = Math.abs(offsetMs) / 60_000;
    const sign = offsetMs < 0 ? '-' : '+';
    const hhmm = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${new Date(epochMs + offsetMs).toISOString().slice(0, 19)}${sign}${hhmm}`;
  }
}

/**
 * Formats instants (best in ascending order) on a zone's wall clock with the offset, e.g.
 * `2026-12-02T09:00:00-05:00`.
 */
export function localIsoFormatter(timeZone: string): (epochMs: EpochMs) => string {
  const days = new DayCursor(timeZone);
  return (epochMs) => days.localIso(epochMs);
}

/** Units taken per slot start, from counts per instant (each folded into the slot it falls in). */
export function takenPerSlot(
  slots: readonly SlotRange[],
  counts: Iterable<{ at: EpochMs; count: number }>,
): Map<EpochMs, number> {
  const taken = new Map<EpochMs, number>();
  for (const { at, count } of counts) {
    let lo = 0;
    let hi = slots.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (slots[mid]!.startMs <= at) lo = mid;
      else hi = mid - 1;
    }
    const slot = slots[lo];
    if (!slot || at < slot.startMs || at >= slot.endMs) continue;
    taken.set(slot.startMs, (taken.get(slot.startMs) ?? 0) + count);
  }
  return taken;
}

export interface SlotQuery {
  policy: SlotPolicy;
  nowMs: EpochMs;
  fromMs: EpochMs;
  toMs: EpochMs;
  customerTimeZone: string;
  /** Units taken per slot start: active callbacks scheduled in the slot plus live holds. */
  taken: ReadonlyMap<EpochMs, number>;
}

/**
 * The slots in [fromMs, toMs) a request could book now, with the units each has left. The same
 * rules as isBookableTime, read from per-day wall-clock facts so a week of slots costs a few
 * Temporal conversions instead of several per slot (a web page asks on every keystroke).
 */
export function bookableSlots(q: SlotQuery): BookableSlot[] {
  const { policy } = q;
  // Nothing outside the lead limits is bookable, so the walk never leaves them.
  const from = Math.max(q.fromMs, q.nowMs + policy.minLeadSeconds * 1000);
  const to = Math.min(q.toMs, q.nowMs + policy.maxLeadDays * DAY_MS + 1);
  if (from >= to) return [];
  const capacity = policy.slots.capacity;
  const queueDays = new DayCursor(policy.openHours.timeZone);
  const customerDays = new DayCursor(q.customerTimeZone);
  const windowStart = hhmmToMs(policy.callingWindow.start);
  const windowEnd = hhmmToMs(policy.callingWindow.end);
  const out: BookableSlot[] = [];
  for (const slot of slotsBetween(policy.openHours.timeZone, policy.slots.minutes, from, to)) {
    const remaining = capacity === undefined ? null : capacity - (q.taken.get(slot.startMs) ?? 0);
    if (remaining !== null && remaining <= 0) continue;
    const t = slot.startMs;
    const local = customerDays.msOfDay(t);
    if (local < windowStart || local >= windowEnd) continue;
    if (!openHoursContain(policy.openHours, queueDays.at(t).dayOfWeek, queueDays.msOfDay(t))) continue;
    if (closureAt(policy.closures, policy.openHours.timeZone, t)) continue;
    out.push({ ...slot, remaining });
  }
  return out;
}

/** The free slots nearest before and after an instant, from a list in order. */
export function nearestFreeSlots(
  slots: readonly BookableSlot[],
  aroundMs: EpochMs,
): { before?: BookableSlot; after?: BookableSlot } {
  let before: BookableSlot | undefined;
  let after: BookableSlot | undefined;
  for (const s of slots) {
    if (s.startMs < aroundMs) before = s;
    else if (s.startMs > aroundMs) {
      after = s;
      break;
    }
  }
  return { ...(before ? { before } : {}), ...(after ? { after } : {}) };
}
