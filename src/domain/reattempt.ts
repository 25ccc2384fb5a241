/**
 * The re-attempt ladder: when an attempt ends without reaching the customer, whether to try again
 * and when. Pure: the attempt's end and the clock are arguments.
 */
import { ERROR_CODES } from './errors.js';
import { isWithinCallingWindow, nextQueueOpenTime, type QueuePolicy } from './policy.js';
import { formatInstant, hhmmToMs, instantAtLocal, zonedFacts } from './time.js';
import type { EpochMs, Reason } from './types.js';

const DAY_MS = 86_400_000;

/** Why an attempt did not reach the customer (contracts item 1: the mapped conversation's `unreached`). */
export const UNREACHED_CAUSES = ['noAnswer', 'busy', 'voicemail', 'failedVerification'] as const;
export type Unreached = (typeof UNREACHED_CAUSES)[number];

const CAUSE_TEXT: Record<Unreached, string> = {
  noAnswer: 'no answer',
  busy: 'busy',
  voicemail: 'voicemail',
  failedVerification: 'verification failed',
};

/** The expired reason codes the state map gives today, read as a cause. */
const CAUSE_BY_REASON: Readonly<Record<string, Unreached>> = {
  NO_ANSWER: 'noAnswer',
  BUSY: 'busy',
  VOICEMAIL: 'voicemail',
  VERIFICATION_FAILED: 'failedVerification',
};

export function unreachedFromReason(code: string | undefined): Unreached | undefined {
  return code === undefined ? undefined : CAUSE_BY_REASON[code];
}

export type ReattemptPolicy = Pick<
  QueuePolicy,
  'reattempts' | 'openHours' | 'closures' | 'callingWindow' | 'maxLeadDays'
>;

/** The first instant at or after the calling window's next opening in the customer's zone. */
function nextWindowOpening(
  window: QueuePolicy['callingWindow'],
  epochMs: EpochMs,
  timeZone: string,
): EpochMs {
  const { msOfDay } = zonedFacts(epochMs, timeZone);
  const daysAhead = msOfDay < hhmmToMs(window.start) ? 0 : 1;
  const at = instantAtLocal(epochMs, timeZone, daysAhead, window.start);
  // Never stand still, even on a DST day whose arithmetic lands on the same instant.
  return at > epochMs ? at : epochMs + 60_000;
}

/**
 * The first instant at or after `fromMs` inside the queue's open hours, outside its closures and
 * inside the customer's calling window; undefined when none comes before `untilMs`.
 */
export function nextAllowedTime(
  policy: Pick<QueuePolicy, 'openHours' | 'closures' | 'callingWindow'>,
  fromMs: EpochMs,
  customerTimeZone: string,
  untilMs: EpochMs,
): EpochMs | undefined {
  let t = fromMs;
  while (t <= untilMs) {
    const open = nextQueueOpenTime(policy, t, untilMs);
    if (open === undefined) return undefined;
    if (isWithinCallingWindow(policy.callingWindow, open, customerTimeZone)) return open;
    t = nextWindowOpening(policy.callingWindow, open, customerTimeZone);
  }
  return undefined;
}

export interface EndedAttempt {
  cause: Unreached;
  /** The attempt that just ended: 1 = the first call, 2 = the first re-attempt, … */
  attempt: number;
  endedAtMs: EpochMs;
}

export type ReattemptDecision =
  /** Schedule attempt number `attempt` at `atMs`. */
  | { kind: 'reattempt'; attempt: number; atMs: EpochMs; reason: Reason }
  /** The ladder is used up (or leads nowhere): end as expired with this reason. */
  | { kind: 'exhausted'; reason: Reason }
  /** The queue re-attempts nothing for this cause: the outcome stands as mapped. */
  | { kind: 'none' };

export function decideReattempt(
  policy: ReattemptPolicy,
  ended: EndedAttempt,
  customerTimeZone: string,
  nowMs: EpochMs,
): ReattemptDecision {
  const ladder = policy.reattempts;
  if (!ladder || ended.cause === 'failedVerification') return { kind: 'none' };
  const delayMinutes = ladder.afterMinutes[ended.cause];
  if (delayMinutes === undefined) return { kind: 'none' };
  const cause = CAUSE_TEXT[ended.cause];
  const total = ladder.attempts + 1;
  if (ended.attempt >= total) {
    return {
      kind: 'exhausted',
      reason: {
        code: ERROR_CODES.RETRIES_EXHAUSTED,
        message: `the customer was not reached in ${total} attempt${total === 1 ? '' : 's'} (last: ${cause}); book a new callback if the customer still wants one`,
      },
    };
  }
  const earliest = Math.max(ended.endedAtMs, nowMs) + delayMinutes * 60_000;
  const atMs = nextAllowedTime(policy, earliest, customerTimeZone, nowMs + policy.maxLeadDays * DAY_MS);
  if (atMs === undefined) {
    return {
      kind: 'exhausted',
      reason: {
        code: ERROR_CODES.RETRIES_EXHAUSTED,
        message: `attempt ${ended.attempt} ended (${cause}) and no time inside the queue's open hours, closures and the customer's calling window comes within ${policy.maxLeadDays} days; book a new callback at a time the queue is open`,
      },
    };
  }
  const next = ended.attempt + 1;
  return {
    kind: 'reattempt',
    attempt: next,
    atMs,
    reason: {
      code: ERROR_CODES.REATTEMPT_SCHEDULED,
      message: `attempt ${ended.attempt} of ${total} ended (${cause}); attempt ${next} is scheduled for ${formatInstant(atMs)}`,
    },
  };
}
