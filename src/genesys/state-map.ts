/**
 * The platform has no callback states of callbackd's kind: they are derived from the whole
 * conversation (GENESYS.md, "What a callback conversation looks like over its life"):
 *
 * - the callback media (customer and ACD: scheduled/connected while the callback waits; the
 *   agent's: connected once the agent accepts it) says whether the callback is still live;
 * - the voice legs in `calls[]` say whether the customer was dialled and reached (an outbound
 *   customer leg with a connectedTime) and how the leg ended (its disconnectType);
 * - the agent's wrap-up code is often the only record of "no answer" or "voicemail": the queue's
 *   `wrapUpOutcomes` names what a code means, and a mapped code decides the outcome.
 *
 * The rules are a table, first match wins, so the README can print it and a test can walk it.
 * A code callbackd has no rule for ends the callback with PLATFORM_OUTCOME_UNKNOWN and the raw
 * code in the message: never a crash and never a guess.
 */
import { ERROR_CODES } from '../domain/errors.js';
import type { WrapUpOutcome } from '../domain/policy.js';
import type { CallbackStatus, EpochMs, Reason } from '../domain/types.js';
import { ATTR } from './mapping.js';
import type { PlatformCallLeg, PlatformConversation, PlatformParticipant } from './port.js';

export type PlatformOutcome = Extract<CallbackStatus, 'pending' | 'completed' | 'expired' | 'rejected'>;

/** Why the customer was not reached (contracts item 1). */
export type Unreached = 'noAnswer' | 'busy' | 'voicemail' | 'failedVerification';

export interface MappedConversation {
  status: PlatformOutcome;
  /** Why it ended (null while pending, and for a plain completion). */
  reason: Reason | null;
  /** True when the outcome is a capacity refusal (reason QUEUE_FULL): worth resubmitting later. */
  capacity: boolean;
  /** The customer was reached (a connected customer voice leg, or a wrap-up mapped to completed). */
  reached: boolean;
  /** Set when the customer was not reached, for that cause. */
  unreached?: Unreached;
  /** When the platform first dialled the customer (first outbound customer voice leg's start). */
  firstDialedAt?: EpochMs;
  /**
   * False when the read held the callback media only (callback GET, event) and the conversation
   * has ended: how it ended needs a read with the voice legs (GET /api/v2/conversations/{id}).
   */
  complete: boolean;
  /** The row of STATE_TABLE that matched. */
  rule: string;
}

export interface MapOptions {
  /** The queue policy's wrap-up code → outcome. */
  wrapUpOutcomes?: Readonly<Record<string, WrapUpOutcome>>;
  /** Now (platform clock): how long an ended conversation has waited for the agent's wrap-up. */
  now?: EpochMs;
  /** How long after the end to wait for a wrap-up the platform expects; default 120 s. */
  wrapUpGraceMs?: number;
}

export const WRAP_UP_GRACE_MS = 120_000;

/** What the rules look at, computed once per conversation. */
export interface ConversationFacts {
  /** The callback media ended everywhere and no voice leg is live (wrap-up may still be due). */
  ended: boolean;
  /** The read carries voice legs (see PlatformConversation.source). */
  legsKnown: boolean;
  /** An outbound voice leg to the customer exists. */
  dialled: boolean;
  /** A customer voice leg was connected (answered; a voicemail pick-up counts too). */
  customerReached: boolean;
  /** An agent voice leg was connected. */
  agentTalked: boolean;
  /** The last customer voice leg's disconnectType. */
  legDisconnectType: string | undefined;
  /** The customer callback media's disconnectType (any callback media's when none is the customer's). */
  callbackDisconnectType: string | undefined;
  /** The agent's wrap-up code (participant or communication), else any participant's. */
  wrapUpCode: string | undefined;
  /** That wrap-up code's name, when the read carries it. */
  wrapUpName: string | undefined;
  /** The platform expects a wrap-up that has not come yet. */
  wrapUpDue: boolean;
  /** errorInfo.code of any media. */
  errorCodes: readonly string[];
  firstDialedAt: EpochMs | undefined;
  /** When the conversation ended (latest end time seen). */
  endedAt: EpochMs | undefined;
}

/** Disconnect types of the SDK (Call/Callback.disconnectType); anything else is unknown to callbackd. */
export const KNOWN_DISCONNECT_TYPES: ReadonlySet<string> = new Set([
  'endpoint',
  'client',
  'system',
  'timeout',
  'transfer',
  'transfer.conference',
  'transfer.consult',
  'transfer.forward',
  'transfer.noanswer',
  'transfer.notavailable',
  'transport.failure',
  'error',
  'peer',
  'other',
  'spam',
  'uncallable',
  'endpoint.donotdisturb',
  'transfer.donotdisturb',
]);

/** Leg ends where the platform or carrier refused to place the call. */
const REFUSED_LEG = new Set(['error', 'uncallable', 'spam', 'transport.failure', 'endpoint.donotdisturb']);

interface Verdict {
  status: PlatformOutcome;
  reason: Reason | null;
  reached: boolean;
  unreached?: Unreached;
}

export interface StateRule {
  rule: string;
  /** Human description, for the README table. */
  when: string;
  /** The verdict, or undefined when the rule does not match. */
  decide: (f: ConversationFacts, o: MapOptions) => Verdict | undefined;
}

const DEFAULT_REASON: Record<Unreached, Reason> = {
  noAnswer: { code: ERROR_CODES.NO_ANSWER, message: 'the customer did not answer' },
  busy: { code: ERROR_CODES.BUSY, message: "the customer's line was busy" },
  voicemail: { code: ERROR_CODES.VOICEMAIL, message: 'the call reached a voicemail' },
  failedVerification: {
    code: ERROR_CODES.VERIFICATION_FAILED,
    message: 'the customer answered but the flow ended before an agent (verification not completed)',
  },
};

function codes(f: ConversationFacts): string {
  const parts = [
    f.wrapUpCode !== undefined ? `wrapUpCode ${f.wrapUpName ?? f.wrapUpCode}` : undefined,
    f.legDisconnectType !== undefined ? `voice leg disconnectType ${f.legDisconnectType}` : undefined,
    f.callbackDisconnectType !== undefined
      ? `callback disconnectType ${f.callbackDisconnectType}`
      : undefined,
    ...f.errorCodes.map((c) => `errorInfo.code ${c}`),
  ].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join(', ') : 'no code';
}

function fromWrapUp(code: string, outcome: WrapUpOutcome, f: ConversationFacts): Verdict {
  const why = `wrap-up code ${code}`;
  if (outcome.status === 'completed') {
    return {
      status: 'completed',
      reason: outcome.reason ? { code: outcome.reason, message: why } : null,
      reached: true,
    };
  }
  if (outcome.status === 'expired') {
    const unreached = outcome.unreached ?? 'noAnswer';
    const base = DEFAULT_REASON[unreached];
    return {
      status: 'expired',
      reason: { code: outcome.reason ?? base.code, message: `${base.message} (${why})` },
      reached: false,
      unreached,
    };
  }
  return {
    status: 'rejected',
    reason: {
      code: outcome.reason ?? ERROR_CODES.PLATFORM_REJECTED,
      message: `the flow or agent refused it (${why})`,
    },
    reached: f.customerReached,
  };
}

export const STATE_TABLE: readonly StateRule[] = [
  {
    rule: 'awaiting-wrap-up',
    when: 'ended, and the agent owes a wrap-up (for at most wrapUpGraceMs): the code may decide the outcome',
    decide: (f) => (f.ended && f.wrapUpDue ? { status: 'pending', reason: null, reached: false } : undefined),
  },
  {
    rule: 'wrap-up-mapped',
    when: "ended with a wrap-up code (or flow error code) the queue's wrapUpOutcomes maps: that outcome",
    decide: (f, o) => {
      if (!f.ended || !o.wrapUpOutcomes) return undefined;
      // Keys may name a wrap-up code by name or by id (the platform's wrapup.code is often the id).
      for (const code of [f.wrapUpName, f.wrapUpCode, ...f.errorCodes]) {
        const outcome = code !== undefined ? o.wrapUpOutcomes[code] : undefined;
        if (code !== undefined && outcome) return fromWrapUp(code, outcome, f);
      }
      return undefined;
    },
  },
  {
    rule: 'talked',
    when: 'ended after a customer voice leg and an agent voice leg were both connected',
    decide: (f) =>
      f.ended && f.customerReached && f.agentTalked
        ? { status: 'completed', reason: null, reached: true }
        : undefined,
  },
  {
    rule: 'error-code',
    when: 'ended with an errorInfo.code no wrapUpOutcomes entry maps (raw code kept)',
    decide: (f) =>
      f.ended && f.errorCodes.length > 0
        ? {
            status: 'rejected',
            reason: {
              code: ERROR_CODES.PLATFORM_OUTCOME_UNKNOWN,
              message: `the platform ended the callback with ${codes(f)}; map the code in wrapUpOutcomes if it means something for this queue`,
            },
            reached: f.customerReached,
          }
        : undefined,
  },
  {
    rule: 'call-refused',
    when: 'ended, the customer leg was not connected and ended with error, uncallable, spam, transport.failure or endpoint.donotdisturb',
    decide: (f) =>
      f.ended && f.dialled && !f.customerReached && REFUSED_LEG.has(f.legDisconnectType ?? '')
        ? {
            status: 'rejected',
            reason: {
              code: ERROR_CODES.PLATFORM_REJECTED,
              message: `the platform or carrier did not place the call (${codes(f)}); check the number and the caller id (callbackFrom)`,
            },
            reached: false,
          }
        : undefined,
  },
  {
    rule: 'not-verified',
    when: 'ended, the customer answered but no agent leg was ever connected (the flow ended it: DTMF, timeout)',
    decide: (f) =>
      f.ended && f.customerReached && !f.agentTalked
        ? {
            status: 'expired',
            reason: DEFAULT_REASON.failedVerification,
            reached: false,
            unreached: 'failedVerification',
          }
        : undefined,
  },
  {
    rule: 'no-answer',
    when: 'ended, the customer was dialled and never answered (a known disconnectType: timeout, endpoint, peer, …)',
    decide: (f) =>
      f.ended && f.dialled && !f.customerReached && KNOWN_DISCONNECT_TYPES.has(f.legDisconnectType ?? 'other')
        ? {
            status: 'expired',
            reason: { ...DEFAULT_REASON.noAnswer, message: `the customer did not answer (${codes(f)})` },
            reached: false,
            unreached: 'noAnswer',
          }
        : undefined,
  },
  {
    rule: 'disconnected-on-platform',
    when: 'ended before any call to the customer, with a known disconnectType (an agent, supervisor or API disconnected it)',
    decide: (f) =>
      f.ended && !f.dialled && KNOWN_DISCONNECT_TYPES.has(f.callbackDisconnectType ?? 'other')
        ? {
            status: 'rejected',
            reason: {
              code: ERROR_CODES.DISCONNECTED_ON_PLATFORM,
              message: `the callback was disconnected on the platform before the customer was called (${codes(f)})`,
            },
            reached: false,
          }
        : undefined,
  },
  {
    rule: 'ended-unknown',
    when: 'ended in any other way (an unknown disconnectType): raw codes kept',
    decide: (f) =>
      f.ended
        ? {
            status: 'rejected',
            reason: {
              code: ERROR_CODES.PLATFORM_OUTCOME_UNKNOWN,
              message: `the platform ended the callback with ${codes(f)}; map the code in wrapUpOutcomes if it means something for this queue`,
            },
            reached: f.customerReached,
          }
        : undefined,
  },
  {
    rule: 'live',
    when: 'anything else: scheduled, waiting, offered to an agent, dialling, talking',
    decide: () => ({ status: 'pending', reason: null, reached: false }),
  },
];

const ENDED_STATES = new Set(['disconnected', 'terminated']);
const CUSTOMER_PURPOSES = new Set(['customer', 'external']);
const AGENT_PURPOSES = new Set(['agent', 'user']);

const ms = (iso: string | undefined): EpochMs | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

function mediaEnded(p: PlatformParticipant): boolean {
  return (p.state !== undefined && ENDED_STATES.has(p.state)) || p.endTime !== undefined;
}

function legEnded(l: PlatformCallLeg): boolean {
  return (l.state !== undefined && ENDED_STATES.has(l.state)) || l.disconnectedTime !== undefined;
}

function legStart(l: PlatformCallLeg): EpochMs | undefined {
  return ms(l.startTime) ?? ms(l.connectedTime) ?? ms(l.disconnectedTime);
}

export function conversationFacts(conversation: PlatformConversation, o: MapOptions = {}): ConversationFacts {
  const ps = conversation.participants;
  const legsKnown = conversation.source === 'conversation' || conversation.source === 'analytics';
  // A participant without the callbackMedia flag comes from a reader that does not split media:
  // its fields are the callback media's.
  const withCallback = ps.filter((p) => p.callbackMedia !== false);
  const customerLegs = ps
    .filter((p) => CUSTOMER_PURPOSES.has(p.purpose ?? ''))
    .flatMap((p) => p.calls ?? [])
    .filter((l) => l.direction === undefined || l.direction === 'outbound');
  const agentLegs = ps.filter((p) => AGENT_PURPOSES.has(p.purpose ?? '')).flatMap((p) => p.calls ?? []);
  const allLegs = ps.flatMap((p) => p.calls ?? []);
  const agents = ps.filter((p) => AGENT_PURPOSES.has(p.purpose ?? ''));
  const customerCallback = withCallback.find((p) => CUSTOMER_PURPOSES.has(p.purpose ?? ''));
  const ended = withCallback.length > 0 && withCallback.every(mediaEnded) && allLegs.every(legEnded);
  // The agent's wrap-up first; a flow that ends a callback without an agent may leave one elsewhere.
  const wrappedUp =
    agents.find((p) => p.wrapupCode !== undefined) ?? ps.find((p) => p.wrapupCode !== undefined);
  const wrapUpCode = wrappedUp?.wrapupCode;
  const ends = [...ps.map((p) => ms(p.endTime)), ...allLegs.map((l) => ms(l.disconnectedTime))].filter(
    (t): t is EpochMs => t !== undefined,
  );
  const endedAt = ends.length > 0 ? Math.max(...ends) : undefined;
  const agentEngaged = agents.some((p) => p.connectedTime !== undefined || (p.calls ?? []).length > 0);
  const graceOver =
    o.now === undefined || endedAt === undefined || o.now - endedAt >= (o.wrapUpGraceMs ?? WRAP_UP_GRACE_MS);
  const starts = customerLegs.map(legStart).filter((t): t is EpochMs => t !== undefined);
  const sortedCustomerLegs = [...customerLegs].sort((a, b) => (legStart(a) ?? 0) - (legStart(b) ?? 0));
  return {
    ended,
    legsKnown,
    dialled: customerLegs.length > 0,
    customerReached: customerLegs.some((l) => l.connectedTime !== undefined),
    agentTalked: agentLegs.some((l) => l.connectedTime !== undefined),
    legDisconnectType: sortedCustomerLegs.map((l) => l.disconnectType).findLast((d) => d !== undefined),
    callbackDisconnectType:
      customerCallback?.disconnectType ??
      withCallback.map((p) => p.disconnectType).find((d) => d !== undefined),
    wrapUpCode,
    wrapUpName: wrappedUp?.wrapupName,
    wrapUpDue:
      wrapUpCode === undefined && agentEngaged && agents.some((p) => p.wrapupRequired === true) && !graceOver,
    errorCodes: [
      ...new Set([
        ...ps.flatMap((p) => (p.errorInfo?.code ? [p.errorInfo.code] : [])),
        ...allLegs.flatMap((l) => (l.errorInfo?.code ? [l.errorInfo.code] : [])),
      ]),
    ],
    firstDialedAt: starts.length > 0 ? Math.min(...starts) : undefined,
    endedAt,
  };
}

export function mapConversation(conversation: PlatformConversation, o: MapOptions = {}): MappedConversation {
  const facts = conversationFacts(conversation, o);
  const base = { firstDialedAt: facts.firstDialedAt };
  if (facts.ended && !facts.legsKnown) {
    // Callback media only: it ended, but how needs the voice legs.
    return {
      ...base,
      status: 'pending',
      reason: null,
      capacity: false,
      reached: false,
      complete: false,
      rule: 'needs-legs',
    };
  }
  for (const row of STATE_TABLE) {
    const v = row.decide(facts, o);
    if (!v) continue;
    return {
      ...base,
      status: v.status,
      reason: v.reason,
      capacity: v.status === 'rejected' && v.reason?.code === ERROR_CODES.QUEUE_FULL,
      reached: v.reached,
      ...(v.unreached !== undefined ? { unreached: v.unreached } : {}),
      complete: true,
      rule: row.rule,
    };
  }
  // Unreachable: the last row matches everything.
  return {
    ...base,
    status: 'pending',
    reason: null,
    capacity: false,
    reached: false,
    complete: true,
    rule: 'live',
  };
}

/** The callbackId a conversation carries, if any participant has it. */
export function callbackIdOf(conversation: PlatformConversation): string | undefined {
  return conversation.participants.map((p) => p.attributes?.[ATTR.callbackId]).find((v) => v !== undefined);
}

/** What the platform currently holds as the callback's schedule and queue (the customer callback media's). */
export function platformSchedule(conversation: PlatformConversation): {
  scheduledTime?: string;
  queueId?: string;
} {
  const withCallback = conversation.participants.filter((p) => p.callbackMedia !== false);
  const customer = withCallback.find((p) => CUSTOMER_PURPOSES.has(p.purpose ?? ''));
  // A transfer adds an acd participant: the last one holds the callback now.
  const acd = withCallback.filter((p) => p.purpose === 'acd').at(-1);
  const scheduledTime =
    customer?.callbackScheduledTime ??
    withCallback.map((p) => p.callbackScheduledTime).find((t) => t !== undefined);
  const queueId =
    acd?.queueId ?? customer?.queueId ?? withCallback.map((p) => p.queueId).find((q) => q !== undefined);
  return {
    ...(scheduledTime !== undefined ? { scheduledTime } : {}),
    ...(queueId !== undefined ? { queueId } : {}),
  };
}
