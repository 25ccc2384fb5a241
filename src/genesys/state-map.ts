/**
 * The platform has no callback states of callbackd's kind: they are derived from the
 * conversation's participants (purpose, state, connectedTime, disconnectType, endTime).
 * The rules are a table, first match wins, so the README can print it and a test can walk it.
 */
import { ERROR_CODES } from '../domain/errors.js';
import type { CallbackStatus, Reason } from '../domain/types.js';
import { ATTR } from './mapping.js';
import type { PlatformConversation, PlatformParticipant } from './port.js';

export type PlatformOutcome = Extract<CallbackStatus, 'pending' | 'completed' | 'expired' | 'rejected'>;

export interface MappedConversation {
  status: PlatformOutcome;
  /** Why it ended (null while pending, and for a plain completion). */
  reason: Reason | null;
  /** True when the platform refused it for capacity (busy queue): worth resubmitting later. */
  capacity: boolean;
  /** The row of STATE_TABLE that matched. */
  rule: string;
}

/** What the rules look at, computed once per conversation. */
export interface ConversationFacts {
  /** Every participant is disconnected/terminated or has an end time. */
  ended: boolean;
  /** A customer/external participant was connected (the customer answered). */
  customerConnected: boolean;
  /** An agent participant was connected. */
  agentConnected: boolean;
  /** disconnectType of every participant that has one. */
  disconnectTypes: ReadonlySet<string>;
  /** Merged participant attributes (the create's data plus what the flow wrote). */
  attributes: Readonly<Record<string, string>>;
}

export interface StateRule {
  rule: string;
  /** Human description, for the README table. */
  when: string;
  test: (f: ConversationFacts) => boolean;
  status: PlatformOutcome;
  reason: Reason | null;
  capacity?: boolean;
}

const CUSTOMER_PURPOSES = new Set(['customer', 'external']);
const ENDED_STATES = new Set(['disconnected', 'terminated']);

/** Attribute a queue flow (and the simulator) writes when it ends a callback for a reason of its own. */
export const OUTCOME_ATTRIBUTE = 'callbackOutcome';

const has =
  (...types: string[]) =>
  (f: ConversationFacts) =>
    types.some((t) => f.disconnectTypes.has(t));

export const STATE_TABLE: readonly StateRule[] = [
  {
    rule: 'connected',
    when: 'an agent and the customer were both connected',
    test: (f) => f.agentConnected && f.customerConnected,
    status: 'completed',
    reason: null,
  },
  {
    rule: 'queue-full',
    when: `ended without connecting, flow outcome "${'queue-full'}" (busy queue)`,
    test: (f) => f.ended && f.attributes[OUTCOME_ATTRIBUTE] === 'queue-full',
    status: 'rejected',
    reason: { code: ERROR_CODES.QUEUE_FULL, message: 'the queue was too busy to take the callback' },
    capacity: true,
  },
  {
    rule: 'dtmf-failed',
    when: `ended after the customer answered but failed DTMF verification (flow outcome "dtmf-failed")`,
    test: (f) => f.ended && f.attributes[OUTCOME_ATTRIBUTE] === 'dtmf-failed',
    status: 'expired',
    reason: {
      code: ERROR_CODES.NO_ANSWER,
      message: 'the customer did not verify with the DTMF digit in time',
    },
  },
  {
    rule: 'uncallable',
    when: 'disconnectType uncallable, transport.failure, error or spam (carrier refused the call)',
    test: (f) => f.ended && has('uncallable', 'transport.failure', 'error', 'spam')(f),
    status: 'rejected',
    reason: {
      code: ERROR_CODES.PLATFORM_REJECTED,
      message: 'the carrier or platform refused the call (check that callbackFrom is a provisioned DID)',
    },
  },
  {
    rule: 'timeout',
    when: 'disconnectType timeout or transfer.noanswer (no answer before the timeout)',
    test: (f) => f.ended && has('timeout', 'transfer.noanswer')(f),
    status: 'expired',
    reason: { code: ERROR_CODES.NO_ANSWER, message: 'the customer did not answer before the timeout' },
  },
  {
    rule: 'ended-unanswered',
    when: 'ended without the customer connected (peer hung up, disconnected on the platform)',
    test: (f) => f.ended && !f.customerConnected,
    status: 'rejected',
    reason: {
      code: ERROR_CODES.DISCONNECTED_ON_PLATFORM,
      message: 'the callback ended on the platform without reaching the customer',
    },
  },
  {
    rule: 'ended-no-agent',
    when: 'ended with the customer connected but no agent',
    test: (f) => f.ended,
    status: 'expired',
    reason: {
      code: ERROR_CODES.NO_ANSWER,
      message: 'the customer answered but was never connected to an agent',
    },
  },
  {
    rule: 'live',
    when: 'anything else: scheduled, offered, dialing or connected',
    test: () => true,
    status: 'pending',
    reason: null,
  },
];

function isEnded(p: PlatformParticipant): boolean {
  return (p.state !== undefined && ENDED_STATES.has(p.state)) || p.endTime !== undefined;
}

export function conversationFacts(conversation: PlatformConversation): ConversationFacts {
  const ps = conversation.participants;
  const attributes: Record<string, string> = {};
  for (const p of ps) Object.assign(attributes, p.attributes);
  return {
    ended: ps.length > 0 && ps.every(isEnded),
    customerConnected: ps.some(
      (p) => CUSTOMER_PURPOSES.has(p.purpose ?? '') && p.connectedTime !== undefined,
    ),
    agentConnected: ps.some((p) => p.purpose === 'agent' && p.connectedTime !== undefined),
    disconnectTypes: new Set(ps.flatMap((p) => (p.disconnectType ? [p.disconnectType] : []))),
    attributes,
  };
}

export function mapConversation(conversation: PlatformConversation): MappedConversation {
  const facts = conversationFacts(conversation);
  // The last row matches everything, so find() always returns.
  const row = STATE_TABLE.find((r) => r.test(facts)) ?? STATE_TABLE[STATE_TABLE.length - 1]!;
  return { status: row.status, reason: row.reason, capacity: row.capacity ?? false, rule: row.rule };
}

/** The callbackId a conversation carries, if any participant has it. */
export function callbackIdOf(conversation: PlatformConversation): string | undefined {
  return conversation.participants.map((p) => p.attributes?.[ATTR.callbackId]).find((v) => v !== undefined);
}
