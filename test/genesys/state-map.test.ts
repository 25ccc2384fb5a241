import type { Models } from 'purecloud-platform-client-v2';
import { describe, expect, it } from 'vitest';
import type { WrapUpOutcome } from '../../src/domain/policy.js';
import {
  fromAnalyticsConversation,
  fromCallbackConversation,
  fromConversation,
} from '../../src/genesys/conversation-read.js';
import type { PlatformCallLeg, PlatformConversation, PlatformParticipant } from '../../src/genesys/port.js';
import { callbackIdOf, mapConversation, STATE_TABLE } from '../../src/genesys/state-map.js';

const T0 = '2030-01-01T10:00:00.000Z';
const T1 = '2030-01-01T10:00:10.000Z';
const T2 = '2030-01-01T10:05:00.000Z';
const END_MS = Date.parse(T2);
// Long past the end: no wrap-up is awaited any more.
const LATE = END_MS + 3_600_000;

/** GET /api/v2/conversations/{id} as the mapping sees it: callback media flattened, voice legs in calls. */
function conv(...participants: PlatformParticipant[]): PlatformConversation {
  return { id: 'c1', source: 'conversation', participants };
}
const customerCallback = (p: Partial<PlatformParticipant> = {}): PlatformParticipant => ({
  purpose: 'customer',
  callbackMedia: true,
  state: 'connected',
  callbackScheduledTime: T0,
  attributes: { callbackId: 'cb-1' },
  ...p,
});
const acd = (p: Partial<PlatformParticipant> = {}): PlatformParticipant => ({
  purpose: 'acd',
  callbackMedia: true,
  state: 'connected',
  queueId: 'q1',
  ...p,
});
const ended = { state: 'disconnected', endTime: T2 };
const leg = (p: Partial<PlatformCallLeg> = {}): PlatformCallLeg => ({
  direction: 'outbound',
  state: 'disconnected',
  startTime: T0,
  disconnectedTime: T2,
  ...p,
});
/** The customer's voice leg, on a participant entry of its own (as live analytics shows). */
const customerVoice = (l: Partial<PlatformCallLeg> = {}): PlatformParticipant => ({
  purpose: 'customer',
  callbackMedia: false,
  calls: [leg(l)],
});
const agent = (p: Partial<PlatformParticipant> = {}, calls: PlatformCallLeg[] = []): PlatformParticipant => ({
  purpose: 'agent',
  callbackMedia: true,
  state: 'disconnected',
  connectedTime: T0,
  endTime: T2,
  wrapupRequired: true,
  ...(calls.length > 0 ? { calls } : {}),
  ...p,
});
const talked = leg({ connectedTime: T1, disconnectType: 'peer' });

const OUTCOMES: Record<string, WrapUpOutcome> = {
  'Cust unavailable': { status: 'expired', unreached: 'noAnswer' },
  VOICEMAIL_LEFT: { status: 'expired', unreached: 'voicemail' },
  LINE_BUSY: { status: 'expired', unreached: 'busy' },
  CAPACITY_REFUSED: { status: 'rejected', reason: 'QUEUE_FULL' },
  'flow.dtmf.failed': { status: 'expired', reason: 'VERIFICATION_FAILED' },
};

type Case = [name: string, c: PlatformConversation, status: string, code: string | null, rule: string];

describe('whole conversation → callbackd status (one case per outcome GENESYS.md describes)', () => {
  const cases: Case[] = [
    ['scheduled, waiting in the queue', conv(customerCallback(), acd()), 'pending', null, 'live'],
    [
      'agent accepted, the customer being dialled',
      conv(
        customerCallback(),
        acd(ended),
        agent({ state: 'connected', endTime: undefined }, [
          leg({ state: 'dialing', disconnectedTime: undefined }),
        ]),
        customerVoice({ state: 'dialing', disconnectedTime: undefined }),
      ),
      'pending',
      null,
      'live',
    ],
    [
      'talking (callback media of the agent connected, legs live)',
      conv(
        customerCallback(),
        acd(ended),
        agent({ state: 'connected', endTime: undefined }, [
          leg({ state: 'connected', connectedTime: T1, disconnectedTime: undefined }),
        ]),
        customerVoice({ state: 'connected', connectedTime: T1, disconnectedTime: undefined }),
      ),
      'pending',
      null,
      'live',
    ],
    [
      'answered and talked, agent wrapped up with an unmapped code',
      conv(
        customerCallback(ended),
        acd(ended),
        agent({ wrapupCode: 'RESOLVED' }, [talked]),
        customerVoice({ connectedTime: T1, disconnectType: 'endpoint' }),
      ),
      'completed',
      null,
      'talked',
    ],
    [
      'no answer (voice leg never connected, timeout)',
      conv(
        customerCallback(ended),
        acd(ended),
        agent({ wrapupRequired: false }, [leg({ disconnectType: 'peer' })]),
        customerVoice({ disconnectType: 'timeout' }),
      ),
      'expired',
      'NO_ANSWER',
      'no-answer',
    ],
    [
      'no answer recorded only by the wrap-up code "Cust unavailable"',
      conv(
        customerCallback(ended),
        acd(ended),
        agent({ wrapupCode: 'Cust unavailable' }, [talked]),
        customerVoice({ connectedTime: T1, disconnectType: 'endpoint' }),
      ),
      'expired',
      'NO_ANSWER',
      'wrap-up-mapped',
    ],
    [
      'voicemail pick-up (counts as answered) decided by its wrap-up code',
      conv(
        customerCallback(ended),
        acd(ended),
        agent({ wrapupCode: 'VOICEMAIL_LEFT' }, [talked]),
        customerVoice({ connectedTime: T1, disconnectType: 'endpoint' }),
      ),
      'expired',
      'VOICEMAIL',
      'wrap-up-mapped',
    ],
    [
      'busy, decided by its wrap-up code',
      conv(
        customerCallback(ended),
        acd(ended),
        agent({ wrapupCode: 'LINE_BUSY' }, [leg({ disconnectType: 'peer' })]),
        customerVoice({ disconnectType: 'endpoint' }),
      ),
      'expired',
      'BUSY',
      'wrap-up-mapped',
    ],
    [
      'capacity refusal: the flow ended it with a configured wrap-up (no agent)',
      conv(
        customerCallback({ ...ended, disconnectType: 'system' }),
        acd({ ...ended, wrapupCode: 'CAPACITY_REFUSED' }),
      ),
      'rejected',
      'QUEUE_FULL',
      'wrap-up-mapped',
    ],
    [
      'failed DTMF (customer-first): answered, the flow ended it before an agent',
      conv(
        customerCallback({ ...ended, disconnectType: 'system' }),
        acd(ended),
        customerVoice({ connectedTime: T1, disconnectType: 'system' }),
      ),
      'expired',
      'VERIFICATION_FAILED',
      'not-verified',
    ],
    [
      'flow outcome as an errorInfo code mapped in wrapUpOutcomes',
      conv(
        customerCallback({ ...ended, disconnectType: 'system' }),
        acd(ended),
        customerVoice({
          connectedTime: T1,
          disconnectType: 'system',
          errorInfo: { code: 'flow.dtmf.failed' },
        }),
      ),
      'expired',
      'VERIFICATION_FAILED',
      'wrap-up-mapped',
    ],
    [
      'carrier failure: the leg ended with error',
      conv(
        customerCallback(ended),
        acd(ended),
        agent({ wrapupRequired: false }, [leg({ disconnectType: 'peer' })]),
        customerVoice({ disconnectType: 'error' }),
      ),
      'rejected',
      'PLATFORM_REJECTED',
      'call-refused',
    ],
    [
      'an errorInfo code nobody mapped: generic reason, raw code kept',
      conv(
        customerCallback(ended),
        acd(ended),
        customerVoice({ disconnectType: 'error', errorInfo: { code: 'outbound.call.rejected' } }),
      ),
      'rejected',
      'PLATFORM_OUTCOME_UNKNOWN',
      'error-code',
    ],
    [
      'disconnected on the platform (supervisor, API) before any call',
      conv(
        customerCallback({ ...ended, disconnectType: 'client' }),
        acd({ ...ended, disconnectType: 'client' }),
      ),
      'rejected',
      'DISCONNECTED_ON_PLATFORM',
      'disconnected-on-platform',
    ],
    [
      'a disconnect type no SDK names: generic reason, raw code kept',
      conv(customerCallback({ ...ended, disconnectType: 'quantum.tunnel' }), acd(ended)),
      'rejected',
      'PLATFORM_OUTCOME_UNKNOWN',
      'ended-unknown',
    ],
  ];

  it.each(cases)('%s', (_name, c, status, code, rule) => {
    const mapped = mapConversation(c, { wrapUpOutcomes: OUTCOMES, now: LATE });
    expect(mapped.rule).toBe(rule);
    expect(mapped.status).toBe(status);
    expect(mapped.reason?.code ?? null).toBe(code);
    expect(mapped.capacity).toBe(code === 'QUEUE_FULL');
    expect(mapped.complete).toBe(true);
  });

  it('every row of the table is reachable by one of the cases (awaiting-wrap-up below)', () => {
    const hit = new Set(
      cases.map((c) => mapConversation(c[1], { wrapUpOutcomes: OUTCOMES, now: LATE }).rule),
    );
    hit.add('awaiting-wrap-up');
    expect(STATE_TABLE.filter((r) => !hit.has(r.rule)).map((r) => r.rule)).toEqual([]);
  });

  it('reached / unreached follow contracts item 1', () => {
    const by = (name: string) => {
      const c = cases.find((x) => x[0].startsWith(name))!;
      return mapConversation(c[1], { wrapUpOutcomes: OUTCOMES, now: LATE });
    };
    expect(by('answered and talked')).toMatchObject({ reached: true });
    expect(by('answered and talked').unreached).toBeUndefined();
    expect(by('no answer (voice')).toMatchObject({ reached: false, unreached: 'noAnswer' });
    expect(by('voicemail')).toMatchObject({ reached: false, unreached: 'voicemail' });
    expect(by('busy')).toMatchObject({ reached: false, unreached: 'busy' });
    expect(by('failed DTMF')).toMatchObject({ reached: false, unreached: 'failedVerification' });
  });

  it('an ended conversation whose agent owes a wrap-up waits for it, within the grace only', () => {
    const c = conv(
      customerCallback(ended),
      acd(ended),
      agent({}, [talked]),
      customerVoice({ connectedTime: T1, disconnectType: 'endpoint' }),
    );
    expect(mapConversation(c, { now: END_MS + 10_000 })).toMatchObject({
      status: 'pending',
      rule: 'awaiting-wrap-up',
    });
    expect(mapConversation(c, { now: END_MS + 10 * 60_000 })).toMatchObject({
      status: 'completed',
      rule: 'talked',
    });
  });

  it('the first dial is the earliest outbound customer leg start', () => {
    const c = conv(
      customerCallback(),
      acd(ended),
      customerVoice({ startTime: '2030-01-01T10:01:00.000Z', disconnectType: 'timeout' }),
      customerVoice({ startTime: T0, disconnectType: 'timeout' }),
    );
    expect(mapConversation(c).firstDialedAt).toBe(Date.parse(T0));
    expect(mapConversation(conv(customerCallback(), acd())).firstDialedAt).toBeUndefined();
  });

  it('the callback GET or an event (callback media only) never decides how an ended callback ended', () => {
    const c: PlatformConversation = {
      id: 'c1',
      source: 'event',
      participants: [customerCallback({ ...ended, disconnectType: 'endpoint' }), acd(ended)],
    };
    expect(mapConversation(c)).toMatchObject({ status: 'pending', complete: false, rule: 'needs-legs' });
    expect(callbackIdOf(c)).toBe('cb-1');
  });
});

describe('reading the platform shapes (SDK models)', () => {
  it('GET /api/v2/conversations/{id}: callbacks[] flattened, calls[] as legs, wrap-up from the participant', () => {
    const body = {
      id: 'conv-1',
      startTime: T0,
      participants: [
        {
          id: 'p-cust',
          purpose: 'customer',
          attributes: { callbackId: 'cb-9' },
          callbacks: [{ state: 'disconnected', callbackScheduledTime: T0, disconnectedTime: T2 }],
        },
        {
          id: 'p-agent',
          purpose: 'agent',
          wrapupRequired: true,
          wrapup: { code: 'RESOLVED', name: 'Resolved' },
          callbacks: [{ state: 'disconnected', connectedTime: T0, disconnectedTime: T2 }],
          calls: [{ state: 'disconnected', direction: 'outbound', connectedTime: T1, disconnectedTime: T2 }],
        },
        {
          id: 'p-voice',
          purpose: 'customer',
          startTime: T0,
          calls: [
            {
              state: 'disconnected',
              direction: 'outbound',
              connectedTime: T1,
              disconnectedTime: T2,
              disconnectType: 'endpoint',
            },
          ],
        },
      ],
    } satisfies Models.Conversation;
    const c = fromConversation(body, 'conv-1');
    expect(c.source).toBe('conversation');
    expect(c.participants[1]).toMatchObject({
      wrapupCode: 'RESOLVED',
      callbackMedia: true,
      wrapupRequired: true,
    });
    expect(c.participants[2]).toMatchObject({
      callbackMedia: false,
      calls: [{ startTime: T0, connectedTime: T1 }],
    });
    expect(mapConversation(c, { now: LATE })).toMatchObject({
      status: 'completed',
      reached: true,
      firstDialedAt: Date.parse(T0),
    });
  });

  it('analytics details: callback and voice sessions, interact = connected, wrapup segment = code', () => {
    const raw = {
      conversationId: 'conv-2',
      conversationStart: T0,
      conversationEnd: T2,
      participants: [
        {
          purpose: 'customer',
          sessions: [
            {
              mediaType: 'callback',
              segments: [{ segmentType: 'scheduled', segmentStart: T0, segmentEnd: T2 }],
            },
          ],
        },
        {
          purpose: 'customer',
          sessions: [
            {
              mediaType: 'voice',
              direction: 'outbound',
              segments: [
                { segmentType: 'dialing', segmentStart: T0, segmentEnd: T1 },
                { segmentType: 'alert', segmentStart: T1, segmentEnd: T2, disconnectType: 'endpoint' },
              ],
            },
          ],
        },
      ],
    } satisfies Models.AnalyticsConversationWithoutAttributes;
    const c = fromAnalyticsConversation(raw)!;
    expect(c.source).toBe('analytics');
    expect(mapConversation(c)).toMatchObject({
      status: 'expired',
      unreached: 'noAnswer',
      firstDialedAt: Date.parse(T0),
    });
  });

  it('a queue callback event body is callback media only', () => {
    const c = fromCallbackConversation(
      { id: 'e1', participants: [{ purpose: 'customer', state: 'scheduled' }] },
      'e1',
      'event',
    );
    expect(c).toMatchObject({ source: 'event', participants: [{ state: 'scheduled' }] });
    expect(mapConversation(c).status).toBe('pending');
  });
});
