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
  /**
   * Why the customer leg ended (its disconnectType; the platform puts the cause there, the other
   * legs follow with peer/transfer). Falls back to any participant's when no customer leg has one.
   */
  customerDisconnectType: string | undefined;
  /** errorInfo.code of any participant (e.g. callback.capacity.exceeded, outbound.call.rejected). */
  errorCodes: ReadonlySet<string>;
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

/** Platform error code of a callback dropped because its queue could take no more. */
export const CAPACITY_ERROR_CODE = 'callback.capacity.exceeded';

const endedBy =
  (...types: string[]) =>
  (f: ConversationFacts) =>
    f.ended && f.customerDisconnectType !== undefined && types.includes(f.customerDisconnectType);

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
    when: `ended with errorInfo.code ${CAPACITY_ERROR_CODE} (the queue could take no more callbacks)`,
    test: (f) => f.ended && f.errorCodes.has(CAPACITY_ERROR_CODE),
    status: 'rejected',
    reason: {
      code: ERROR_CODES.QUEUE_FULL,
      message: 'the platform dropped the callback: its queue was full',
    },
    capacity: true,
  },
  {
    rule: 'disconnected',
    when: 'customer leg ended with disconnectType client (disconnected through the API or by a user)',
    test: endedBy('client'),
    status: 'rejected',
    reason: {
      code: ERROR_CODES.DISCONNECTED_ON_PLATFORM,
      message: 'the callback was disconnected on the platform before it reached an agent',
    },
  },
  {
    rule: 'carrier-rejected',
    when: 'customer leg ended with disconnectType error, uncallable, transport.failure or spam',
    test: endedBy('error', 'uncallable', 'transport.failure', 'spam'),
    status: 'rejected',
    reason: {
      code: ERROR_CODES.PLATFORM_REJECTED,
      message:
        'the carrier or platform refused the call; check that callbackFrom is a DID provisioned in Genesys',
    },
  },
  {
    rule: 'dtmf-failed',
    when: 'the customer answered, no agent was connected, and the leg ended (verification not completed in time)',
    test: (f) => f.ended && f.customerConnected && !f.agentConnected,
    status: 'expired',
    reason: {
      code: ERROR_CODES.NO_ANSWER,
      message: 'the customer answered but did not verify with the DTMF digit before the timeout',
    },
  },
  {
    rule: 'busy',
    when: 'customer leg ended with disconnectType endpoint or peer without answering (busy, hung up)',
    test: (f) => endedBy('endpoint', 'peer')(f) && !f.customerConnected,
    status: 'expired',
    reason: {
      code: ERROR_CODES.NO_ANSWER,
      message: 'the line was busy or the call was refused by the customer',
    },
  },
  {
    rule: 'no-answer',
    when: 'ended without the customer answering (disconnectType system, timeout or anything else)',
    test: (f) => f.ended && !f.customerConnected,
    status: 'expired',
    reason: { code: ERROR_CODES.NO_ANSWER, message: 'the customer did not answer before the timeout' },
  },
  {
    rule: 'live',
    when: 'anything else: scheduled, waiting, offered, dialing, answered and verifying',
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
  const customers = ps.filter((p) => CUSTOMER_PURPOSES.has(p.purpose ?? ''));
  const cause =
    customers.map((p) => p.disconnectType).find((d) => d !== undefined) ??
    ps.map((p) => p.disconnectType).find((d) => d !== undefined);
  return {
    ended: ps.length > 0 && ps.every(isEnded),
    customerConnected: customers.some((p) => p.connectedTime !== undefined),
    agentConnected: ps.some((p) => p.purpose === 'agent' && p.connectedTime !== undefined),
    customerDisconnectType: cause,
    errorCodes: new Set(ps.flatMap((p) => (p.errorInfo?.code ? [p.errorInfo.code] : []))),
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
