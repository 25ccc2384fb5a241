/**
 * Schedule time: ISO 8601 instants and zoned wall-clock times to UTC instants. All zone and
 * DST arithmetic goes through Temporal (temporal-polyfill), never hand-written offsets.
 */
import { Temporal } from 'temporal-polyfill';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import type { EpochMs } from './types.js';

export const DST_POLICIES = ['reject', 'earlier', 'later'] as const;
export type DstPolicy = (typeof DST_POLICIES)[number];

export interface TimeError {
  code: ErrorCode;
  message: string;
  /** DST_GAP / DST_AMBIGUOUS: the two instants the local time could mean, earlier first. */
  candidates?: [string, string];
}

export type TimeResult = { ok: true; epochMs: EpochMs; iso: string } | { ok: false; error: TimeError };

const INSTANT_EXAMPLE = '2024-06-15T16:00:00.000Z or 2024-06-15T12:00:00-04:00';
const LOCAL_EXAMPLE = '2024-06-15T12:00:00';

// Extended ISO 8601 only (what every client sends); a 4-digit year, seconds and fraction optional.
const DATE_TIME = String.raw`(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?`;
const OFFSET = String.raw`(?:[Zz]|[+-]\d{2}(?::?\d{2})?)`;
const INSTANT_RE = new RegExp(`^${DATE_TIME}${OFFSET}$`);
const LOCAL_RE = new RegExp(`^${DATE_TIME}$`);
const DATE_ONLY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Canonical UTC notation: `YYYY-MM-DDTHH:mm:ss.sssZ`. */
export function formatInstant(epochMs: EpochMs): string {
  return new Date(epochMs).toISOString();
}

/** `yyyyMMddTHHmmssZ`, the compact UTC form used in derived callback ids. */
export function formatCompactUtc(epochMs: EpochMs): string {
  return formatInstant(epochMs)
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Whether the wall-clock fields name a real day and time (no Feb 30, no 24:00, no :60). */
function checkWallClock(m: RegExpExecArray): string | undefined {
  const [, y, mo, d, h, mi, s] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12) return `month ${mo} does not exist`;
  const daysInMonth = Temporal.PlainYearMonth.from({ year, month }).daysInMonth;
  if (day < 1 || day > daysInMonth) return `${y}-${mo} has no day ${d} (it has ${daysInMonth} days)`;
  if (Number(h) > 23) return `hour ${h} does not exist (00-23)`;
  if (Number(mi) > 59) return `minute ${mi} does not exist (00-59)`;
  if (s !== undefined && Number(s) > 59)
    return `second ${s} does not exist (00-59; leap seconds are not accepted)`;
  return undefined;
}

function ok(epochMs: EpochMs): TimeResult {
  return { ok: true, epochMs, iso: formatInstant(epochMs) };
}

function fail(code: ErrorCode, message: string, candidates?: [string, string]): TimeResult {
  return { ok: false, error: candidates ? { code, message, candidates } : { code, message } };
}

/**
 * Parse `scheduledTime`: an ISO 8601 instant with `Z` or an offset. Sub-millisecond digits are
 * truncated (the canonical form has milliseconds).
 */
export function parseInstant(value: string, field = 'scheduledTime'): TimeResult {
  const instant = INSTANT_RE.exec(value);
  if (instant) {
    const wrong = checkWallClock(instant);
    if (wrong)
      return fail(ERROR_CODES.INVALID_DATE, `${field} "${value}": ${wrong}; send a real date and time`);
    try {
      return ok(Temporal.Instant.from(value).epochMilliseconds);
    } catch {
      return fail(
        ERROR_CODES.INVALID_DATE,
        `${field} "${value}" has an impossible offset; send an offset between -23:59 and +23:59, e.g. ${INSTANT_EXAMPLE}`,
      );
    }
  }
  const local = LOCAL_RE.exec(value);
  if (local) {
    const wrong = checkWallClock(local);
    if (wrong)
      return fail(ERROR_CODES.INVALID_DATE, `${field} "${value}": ${wrong}; send a real date and time`);
    return fail(
      ERROR_CODES.MISSING_OFFSET,
      `${field} "${value}" has no Z or UTC offset, so it names no single instant; add one (e.g. ${INSTANT_EXAMPLE}), or send scheduledLocalTime with timeZone instead`,
    );
  }
  if (DATE_ONLY_RE.test(value)) {
    return fail(
      ERROR_CODES.INVALID_TIME_FORMAT,
      `${field} "${value}" is a date without a time; send an ISO 8601 instant such as ${INSTANT_EXAMPLE}`,
    );
  }
  return fail(
    ERROR_CODES.INVALID_TIME_FORMAT,
    `${field} is not an ISO 8601 date-time; send an instant such as ${INSTANT_EXAMPLE}`,
  );
}

/**
 * The IANA zone id in its canonical spelling, or undefined when the name is not an IANA zone.
 * Bare UTC offsets ("+05:00") are refused: they carry no DST rules.
 */
export function canonicalTimeZone(timeZone: string): string | undefined {
  if (timeZone.length === 0 || timeZone.length > 64 || /^[+-]/.test(timeZone)) return undefined;
  try {
    return Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(timeZone).timeZoneId;
  } catch {
    return undefined;
  }
}

export function isValidTimeZone(timeZone: string): boolean {
  return canonicalTimeZone(timeZone) !== undefined;
}

export function unknownTimeZoneMessage(field: string, timeZone: string): string {
  return `${field} "${timeZone}" is not an IANA time zone; send a zone name such as America/New_York, Europe/London or Asia/Kolkata`;
}

/**
 * Resolve `scheduledLocalTime` (a wall-clock time, no offset) in an IANA zone. A time in a DST
 * gap (does not exist) or overlap (happens twice) is refused naming both candidate instants,
 * unless dstPolicy picks one.
 */
export function resolveLocalTime(
  localTime: string,
  timeZone: string,
  dstPolicy: DstPolicy = 'reject',
  field = 'scheduledLocalTime',
): TimeResult {
  const zone = canonicalTimeZone(timeZone);
  if (!zone) return fail(ERROR_CODES.UNKNOWN_TIME_ZONE, unknownTimeZoneMessage('timeZone', timeZone));
  const local = LOCAL_RE.exec(localTime);
  if (!local) {
    if (INSTANT_RE.test(localTime)) {
      return fail(
        ERROR_CODES.INVALID_TIME_FORMAT,
        `${field} "${localTime}" carries an offset; send the wall-clock time alone (e.g. ${LOCAL_EXAMPLE}) with timeZone, or send the instant as scheduledTime`,
      );
    }
    return fail(
      ERROR_CODES.INVALID_TIME_FORMAT,
      `${field} is not an ISO 8601 local date-time; send a wall-clock time such as ${LOCAL_EXAMPLE}`,
    );
  }
  const wrong = checkWallClock(local);
  if (wrong)
    return fail(ERROR_CODES.INVALID_DATE, `${field} "${localTime}": ${wrong}; send a real date and time`);

  const wall = Temporal.PlainDateTime.from(localTime);
  const earlier = wall.toZonedDateTime(zone, { disambiguation: 'earlier' });
  const later = wall.toZonedDateTime(zone, { disambiguation: 'later' });
  if (earlier.epochMilliseconds === later.epochMilliseconds) return ok(earlier.epochMilliseconds);
  if (dstPolicy === 'earlier') return ok(earlier.epochMilliseconds);
  if (dstPolicy === 'later') return ok(later.epochMilliseconds);

  const candidates: [string, string] = [
    formatInstant(earlier.epochMilliseconds),
    formatInstant(later.epochMilliseconds),
  ];
  const shown = wall.toString({ smallestUnit: 'minute' });
  // How each candidate reads on the zone's clocks, e.g. "01:30-05:00".
  const onClock = (z: Temporal.ZonedDateTime) =>
    `${z.toPlainTime().toString({ smallestUnit: 'minute' })}${z.offset}`;
  // In a gap Temporal's "earlier" reading lands on a different wall-clock time than was asked.
  const isGap = !earlier.toPlainDateTime().equals(wall);
  if (isGap) {
    return fail(
      ERROR_CODES.DST_GAP,
      `${field} ${shown} does not exist in ${zone}: clocks jump forward over it. It could mean ${candidates[0]} (${onClock(earlier)}, before the jump) or ${candidates[1]} (${onClock(later)}, after it); send dstPolicy "earlier" or "later", or a scheduledTime with an explicit offset`,
      candidates,
    );
  }
  return fail(
    ERROR_CODES.DST_AMBIGUOUS,
    `${field} ${shown} happens twice in ${zone}: clocks fall back over it. It could mean ${candidates[0]} (${onClock(earlier)}, the first time) or ${candidates[1]} (${onClock(later)}, the second); send dstPolicy "earlier" or "later", or a scheduledTime with an explicit offset`,
    candidates,
  );
}

/** Wall-clock facts about an instant in a zone, for open-hours and calling-window checks. */
export interface ZonedFacts {
  /** 1 = Monday … 7 = Sunday (ISO). */
  dayOfWeek: number;
  /** Milliseconds since local midnight by the wall clock. */
  msOfDay: number;
  /** `YYYY-MM-DDTHH:mm` wall clock, for messages. */
  wallClock: string;
  offset: string;
}

export function zonedFacts(epochMs: EpochMs, timeZone: string): ZonedFacts {
  const z = Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(timeZone);
  return {
    dayOfWeek: z.dayOfWeek,
    msOfDay: ((z.hour * 60 + z.minute) * 60 + z.second) * 1000 + z.millisecond,
    wallClock: z.toPlainDateTime().toString({ smallestUnit: 'minute' }),
    offset: z.offset,
  };
}

/** `HH:mm` (00:00–24:00) → milliseconds since midnight. */
export function hhmmToMs(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return ((h ?? 0) * 60 + (m ?? 0)) * 60_000;
}

/**
 * The instant a wall-clock time on the local date `daysAhead` days after `epochMs` has in `zone`
 * (a time in a DST gap moves forward, as clocks do). Used to suggest the next allowed time.
 */
export function instantAtLocal(epochMs: EpochMs, timeZone: string, daysAhead: number, hhmm: string): EpochMs {
  const base = Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(timeZone).toPlainDate();
  const date = base.add({ days: daysAhead });
  const ms = hhmmToMs(hhmm);
  const wall = date.toPlainDateTime({ hour: 0 }).add({ milliseconds: ms });
  return wall.toZonedDateTime(timeZone, { disambiguation: 'compatible' }).epochMilliseconds;
}
