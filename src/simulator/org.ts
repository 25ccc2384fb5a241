/**
 * The demo organization: the guide's own example ids (DESIGN.md §6). Served at GET /sim/org and
 * printed at start-up so callbackd (or a person with curl) can be pointed at the simulator.
 */

export interface SimWrapupCode {
  id: string;
  name: string;
}

/** The queue's `mediaSettings.callback` fields the simulator acts on (SDK `CallbackMediaSettings`). */
export interface SimCallbackSettings {
  /** Only AgentFirst is modelled: the agent accepts the callback, then the customer is dialled. */
  mode: 'AgentFirst';
  /** true: the platform dials after autoDialDelaySeconds, retries an unreached customer
   *  maxRetryCount times retryDelaySeconds apart, and ends the callback autoEndDelaySeconds after
   *  the last call. false: the agent dials and ends the callback by hand, and never retries. */
  enableAutoDialAndEnd: boolean;
  autoDialDelaySeconds: number;
  autoEndDelaySeconds: number;
  maxRetryCount: number;
  retryDelaySeconds: number;
}

/** How the queue's Architect flow ends a callback it refuses or gives up on. */
export interface SimFlowOutcome {
  /** disconnectType of the customer's media the flow disconnects. */
  disconnectType: string;
  /** A wrap-up code name the flow sets (Set Wrap-up Code); none when absent. */
  wrapUpCode?: string;
}

/** Flow outcomes: the DTMF check failed, the answer-and-verify timeout passed, the queue refused. */
export type FlowOutcomeName = 'failedDtmf' | 'timeout' | 'capacity';

/** Why one voice attempt ended without the customer talking to the agent, or that it did. */
export type AttemptOutcome = 'answered' | 'noAnswer' | 'busy' | 'voicemail' | 'carrierFailure';

export interface SimQueueDef {
  id: string;
  name: string;
  /** Agents on the queue; each handles one callback at a time. */
  agents: { id: string; name: string }[];
  wrapupCodes: SimWrapupCode[];
  callback: SimCallbackSettings;
  flow: Record<FlowOutcomeName, SimFlowOutcome>;
  /** The wrap-up code (name) the agent picks after each attempt outcome. `answered` yields to
   *  the create's data.wrapUpCode when that names one of the queue's codes. */
  agentWrapUps: Record<AttemptOutcome, string>;
  /** What the agent does when the customer was not reached and the platform does not retry:
   *  end the callback with the wrap-up, or reschedule it this many seconds later ("the agent must
   *  manually reschedule the callback"). */
  agentOnUnreached: { action: 'end' } | { action: 'reschedule'; delaySeconds: number };
}

export interface SimDid {
  id: string;
  phoneNumber: string;
  /** The queue this number is the outbound caller id for (informational). */
  queueId: string;
}

export interface SimCustomer {
  externalId: string;
  firstName: string;
  lastName: string;
  phoneNumbers: string[];
}

/** What the dialled number does: picks up and talks, never answers, is busy, has a voicemail
 *  pick up, cannot key the DTMF digit, or the carrier fails the call. */
export type Outcome = 'answer' | 'noAnswer' | 'failDtmf' | 'busy' | 'voicemail' | 'carrierFailure';

/** What happens when the simulator dials a number. */
export type NumberRule =
  | { outcome: Outcome; ringSeconds?: number; talkSeconds?: number }
  | {
      outcome: 'random';
      /** Relative weights of each outcome, drawn with the seeded PRNG. */
      weights: Partial<Record<Outcome, number>>;
      ringSeconds?: number;
      talkSeconds?: number;
    };

export interface SimOrgDef {
  name: string;
  oauth: { clientId: string; clientSecret: string };
  divisionId: string;
  queues: SimQueueDef[];
  dids: SimDid[];
  customers: SimCustomer[];
  /** Numbers with a preset outcome, for demos; every other number gets the default rule. */
  numberRules: Record<string, NumberRule>;
  defaultRule: NumberRule;
  /** A [guess] modelled as one switch: the carrier refuses a callerId that is none of the org's DIDs. */
  carrierRejectsUnknownCallerId: boolean;
}

export const DEMO_CLIENT_ID = 'callbackd-demo';
export const DEMO_CLIENT_SECRET = 'demo-secret-not-for-production';
export const SUPPORT_QUEUE_ID = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
export const BILLING_QUEUE_ID = 'b2c3d4e5-f6a7-8901-bcde-f12345678901';

// QUEUE_FULL: the code the demo queues' flow sets when it refuses a callback for capacity, so the
// demo config's wrapUpOutcomes can tell that refusal from any other disconnect.
const WRAPUP_NAMES = [
  'PROGRAMMATIC_CALLBACK',
  'RESOLVED',
  'NO_ANSWER',
  'BUSY',
  'VOICEMAIL',
  'CALL_FAILED',
  'QUEUE_FULL',
];

function wrapups(prefix: string, extra: string[]): SimWrapupCode[] {
  return [...WRAPUP_NAMES, ...extra].map((name, i) => ({
    id: `${prefix}-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
    name,
  }));
}

/** Defaults of a queue's callback behaviour (agent-first with auto dial and end, no retries). */
export function defaultQueueBehaviour(): Pick<
  SimQueueDef,
  'callback' | 'flow' | 'agentWrapUps' | 'agentOnUnreached'
> {
  return {
    callback: {
      mode: 'AgentFirst',
      enableAutoDialAndEnd: true,
      autoDialDelaySeconds: 2,
      autoEndDelaySeconds: 5,
      maxRetryCount: 0,
      retryDelaySeconds: 0,
    },
    flow: {
      failedDtmf: { disconnectType: 'system' },
      timeout: { disconnectType: 'system' },
      capacity: { disconnectType: 'system', wrapUpCode: 'QUEUE_FULL' },
    },
    agentWrapUps: {
      answered: 'PROGRAMMATIC_CALLBACK',
      noAnswer: 'NO_ANSWER',
      busy: 'BUSY',
      voicemail: 'VOICEMAIL',
      carrierFailure: 'CALL_FAILED',
    },
    agentOnUnreached: { action: 'end' },
  };
}

function agents(prefix: string, names: string[]): { id: string; name: string }[] {
  return names.map((name, i) => ({ id: `${prefix}${String(i + 1).padStart(4, '0')}`, name }));
}

export function demoOrg(): SimOrgDef {
  return {
    name: 'callbackd demo org (simulated)',
    oauth: { clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET },
    divisionId: 'd0d0d0d0-0000-4000-8000-000000000001',
    queues: [
      {
        id: SUPPORT_QUEUE_ID,
        name: 'Support',
        agents: agents('5a000000-0000-4000-8000-00000000', [
          'Ada Lovelace',
          'Grace Hopper',
          'Alan Turing',
          'Katherine Johnson',
          'Edsger Dijkstra',
        ]),
        wrapupCodes: wrapups('c0de0001', []),
        ...defaultQueueBehaviour(),
      },
      {
        id: BILLING_QUEUE_ID,
        name: 'Billing',
        agents: agents('b1000000-0000-4000-8000-00000000', ['Barbara Liskov', 'John Backus']),
        wrapupCodes: wrapups('c0de0002', ['BILLING_FOLLOW_UP']),
        ...defaultQueueBehaviour(),
      },
    ],
    dids: [
      { id: 'd1d00001-0000-4000-8000-000000000001', phoneNumber: '+18005551234', queueId: SUPPORT_QUEUE_ID },
      { id: 'd1d00001-0000-4000-8000-000000000002', phoneNumber: '+18005551235', queueId: BILLING_QUEUE_ID },
    ],
    customers: [
      { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance', phoneNumbers: ['+14155552671'] },
    ],
    numberRules: {
      '+14155552671': { outcome: 'answer', ringSeconds: 6, talkSeconds: 180 },
      '+14155550101': { outcome: 'noAnswer' },
      '+14155550102': { outcome: 'failDtmf', ringSeconds: 5 },
      '+14155550103': { outcome: 'busy' },
      '+14155550104': { outcome: 'voicemail' },
      '+14155550105': { outcome: 'carrierFailure' },
    },
    defaultRule: { outcome: 'answer', ringSeconds: 8, talkSeconds: 120 },
    carrierRejectsUnknownCallerId: true,
  };
}
