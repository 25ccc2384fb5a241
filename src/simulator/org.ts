/**
 * The demo organization: the guide's own example ids (DESIGN.md §6). Served at GET /sim/org and
 * printed at start-up so callbackd (or a person with curl) can be pointed at the simulator.
 */

export interface SimWrapupCode {
  id: string;
  name: string;
}

export interface SimQueueDef {
  id: string;
  name: string;
  /** Agents on the queue; each handles one callback at a time. */
  agents: { id: string; name: string }[];
  wrapupCodes: SimWrapupCode[];
  /** What the queue's Architect flow does; callbackd keeps the real policy (lead time etc.) itself. */
  callbackMode: 'AgentFirst' | 'CustomerFirst';
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

export type Outcome = 'answer' | 'noAnswer' | 'failDtmf' | 'busy';

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
}

export const DEMO_CLIENT_ID = 'callbackd-demo';
export const DEMO_CLIENT_SECRET = 'demo-secret-not-for-production';
export const SUPPORT_QUEUE_ID = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
export const BILLING_QUEUE_ID = 'b2c3d4e5-f6a7-8901-bcde-f12345678901';

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
        wrapupCodes: [
          { id: 'c0de0001-0000-4000-8000-000000000001', name: 'PROGRAMMATIC_CALLBACK' },
          { id: 'c0de0001-0000-4000-8000-000000000002', name: 'RESOLVED' },
        ],
        callbackMode: 'AgentFirst',
      },
      {
        id: BILLING_QUEUE_ID,
        name: 'Billing',
        agents: agents('b1000000-0000-4000-8000-00000000', ['Barbara Liskov', 'John Backus']),
        wrapupCodes: [
          { id: 'c0de0002-0000-4000-8000-000000000001', name: 'PROGRAMMATIC_CALLBACK' },
          { id: 'c0de0002-0000-4000-8000-000000000002', name: 'BILLING_FOLLOW_UP' },
        ],
        callbackMode: 'AgentFirst',
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
    },
    defaultRule: { outcome: 'answer', ringSeconds: 8, talkSeconds: 120 },
  };
}
