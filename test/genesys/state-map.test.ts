import { describe, expect, it } from 'vitest';
import type { PlatformConversation, PlatformParticipant } from '../../src/genesys/port.js';
import { callbackIdOf, mapConversation, STATE_TABLE } from '../../src/genesys/state-map.js';

const T = '2030-01-01T10:00:00.000Z';
const T2 = '2030-01-01T10:05:00.000Z';

function conv(...participants: PlatformParticipant[]): PlatformConversation {
  return { id: 'c1', participants };
}
const customer = (p: Partial<PlatformParticipant> = {}): PlatformParticipant => ({
  purpose: 'customer',
  state: 'none',
  attributes: { callbackId: 'cb-1' },
  ...p,
});
const acdEnded: PlatformParticipant = {
  purpose: 'acd',
  state: 'disconnected',
  endTime: T,
  disconnectType: 'transfer',
};
const agent = (p: Partial<PlatformParticipant> = {}): PlatformParticipant => ({
  purpose: 'agent',
  state: 'alerting',
  ...p,
});
const ended = { state: 'disconnected', endTime: T2 };

describe('platform conversation → callbackd status (one case per simulator outcome)', () => {
  const cases: [string, PlatformConversation, string, string | null, string][] = [
    [
      'scheduled',
      conv(customer(), { purpose: 'acd', state: 'connected', connectedTime: T }),
      'pending',
      null,
      'live',
    ],
    [
      'dialing',
      conv(customer({ state: 'dialing' }), acdEnded, agent({ state: 'contacting' })),
      'pending',
      null,
      'live',
    ],
    [
      'answered, verifying DTMF',
      conv(customer({ state: 'connected', connectedTime: T }), acdEnded, agent({ state: 'contacting' })),
      'pending',
      null,
      'live',
    ],
    [
      'talking to the agent',
      conv(
        customer({ state: 'connected', connectedTime: T }),
        acdEnded,
        agent({ state: 'connected', connectedTime: T }),
      ),
      'completed',
      null,
      'connected',
    ],
    [
      'completed and hung up',
      conv(
        customer({ ...ended, connectedTime: T, disconnectType: 'endpoint' }),
        acdEnded,
        agent({ ...ended, connectedTime: T, disconnectType: 'peer' }),
      ),
      'completed',
      null,
      'connected',
    ],
    [
      'no answer before the timeout',
      conv(
        customer({ ...ended, disconnectType: 'system' }),
        acdEnded,
        agent({ ...ended, disconnectType: 'peer' }),
      ),
      'expired',
      'NO_ANSWER',
      'no-answer',
    ],
    [
      'failed DTMF verification',
      conv(
        customer({ ...ended, connectedTime: T, disconnectType: 'system' }),
        acdEnded,
        agent({ ...ended, disconnectType: 'peer' }),
      ),
      'expired',
      'NO_ANSWER',
      'dtmf-failed',
    ],
    [
      'busy',
      conv(
        customer({ ...ended, disconnectType: 'endpoint' }),
        acdEnded,
        agent({ ...ended, disconnectType: 'peer' }),
      ),
      'expired',
      'NO_ANSWER',
      'busy',
    ],
    [
      'carrier rejected (caller id not provisioned)',
      conv(
        customer({
          ...ended,
          disconnectType: 'error',
          errorInfo: { code: 'outbound.call.rejected', message: 'not provisioned' },
        }),
        acdEnded,
        agent({ ...ended, disconnectType: 'peer' }),
      ),
      'rejected',
      'PLATFORM_REJECTED',
      'carrier-rejected',
    ],
    [
      'dropped for capacity',
      conv(
        customer({ ...ended, disconnectType: 'error', errorInfo: { code: 'callback.capacity.exceeded' } }),
        { ...acdEnded, disconnectType: 'peer' },
      ),
      'rejected',
      'QUEUE_FULL',
      'queue-full',
    ],
    [
      'disconnected through the API',
      conv(customer({ ...ended, disconnectType: 'client' }), { ...acdEnded, disconnectType: 'client' }),
      'rejected',
      'DISCONNECTED_ON_PLATFORM',
      'disconnected',
    ],
  ];

  it.each(cases)('%s', (_name, c, status, code, rule) => {
    const mapped = mapConversation(c);
    expect(mapped.status).toBe(status);
    expect(mapped.reason?.code ?? null).toBe(code);
    expect(mapped.rule).toBe(rule);
    expect(mapped.capacity).toBe(rule === 'queue-full');
  });

  it('every row of the table is reachable by one of the cases', () => {
    const hit = new Set(cases.map((c) => mapConversation(c[1]).rule));
    expect(STATE_TABLE.filter((r) => !hit.has(r.rule)).map((r) => r.rule)).toEqual([]);
  });

  it('analytics-shaped conversations (no state, end time only) map the same way', () => {
    const c = conv(
      { purpose: 'customer', endTime: T2, disconnectType: 'system' },
      { purpose: 'acd', endTime: T2 },
      { purpose: 'agent', endTime: T2 },
    );
    expect(mapConversation(c).status).toBe('expired');
    expect(callbackIdOf(conv(customer()))).toBe('cb-1');
  });
});
