import { describe, expect, it } from 'vitest';
import { loadConfig, SUPPORT_QUEUE_ID } from '../../src/config/index.js';
import { canonicalJson, fingerprintSpec } from '../../src/domain/fingerprint.js';
import type { CallbackSpec } from '../../src/domain/types.js';
import { validateCallbackRequest } from '../../src/domain/validate.js';

const config = loadConfig({ env: {} });
const ctx = { now: Date.parse('2024-06-14T00:00:00Z'), queues: (id: string) => config.queues[id] };

const base = {
  callbackNumber: '+14155552671',
  callbackFrom: '+18005551234',
  callbackTo: '+18005551234',
  scheduledTime: '2024-06-15T16:00:00.000Z',
  routingData: { queueId: SUPPORT_QUEUE_ID, priority: 5, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
  customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
};

function fingerprintOf(body: unknown): string {
  const r = validateCallbackRequest(body, ctx);
  if (!r.ok) throw new Error(JSON.stringify(r.violations));
  return fingerprintSpec(r.spec);
}

/** The same object with keys in reverse order at every depth. */
function reversed(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .reverse()
      .map(([k, v]) => [k, reversed(v)]),
  );
}

describe('fingerprint is stable across equivalent requests', () => {
  const reference = fingerprintOf(base);
  const { scheduledTime: _s, ...noTime } = base;
  const equivalents = [
    ['keys in reverse order at every depth', reversed(base)],
    ['number with spaces and brackets', { ...base, callbackNumber: '+1 (415) 555-2671' }],
    ['DIDs with dashes', { ...base, callbackFrom: '+1-800-555-1234', callbackTo: '+1 800 555 1234' }],
    ['time without milliseconds', { ...base, scheduledTime: '2024-06-15T16:00:00Z' }],
    ['time as a New York offset', { ...base, scheduledTime: '2024-06-15T12:00:00-04:00' }],
    ['time as a Kathmandu offset', { ...base, scheduledTime: '2024-06-15T21:45:00+05:45' }],
    ['time without seconds, lower case', { ...base, scheduledTime: '2024-06-15t16:00z' }],
    ['defaults sent explicitly', { ...base, timeout: 300, mediaType: 'voice' }],
    ['derived callbackId sent explicitly', { ...base, callbackId: 'cb-CRM-998271-20240615T160000Z' }],
  ] as const;
  it.each(equivalents)('%s', (_label, body) => {
    expect(fingerprintOf(body)).toBe(reference);
  });

  it('local time + zone equals the same instant with that zone sent alongside', () => {
    const local = fingerprintOf({
      ...noTime,
      scheduledLocalTime: '2024-06-15T12:00',
      timeZone: 'America/New_York',
    });
    const instant = fingerprintOf({
      ...base,
      scheduledTime: '2024-06-15T16:00:00Z',
      timeZone: 'America/New_York',
    });
    expect(local).toBe(instant);
    expect(local).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is computed the same from a spec whose fields were not normalised', () => {
    const r = validateCallbackRequest(base, ctx);
    if (!r.ok) throw new Error('base must validate');
    const messy: CallbackSpec = {
      ...r.spec,
      callbackNumber: '+1 415 555 2671',
      scheduledTime: '2024-06-15T12:00:00-04:00',
    };
    expect(fingerprintSpec(messy)).toBe(reference);
  });
});

describe('fingerprint changes with any parameter', () => {
  const reference = fingerprintOf(base);
  const different = [
    ['another number', { ...base, callbackNumber: '+14155550123' }],
    ['one millisecond later', { ...base, scheduledTime: '2024-06-15T16:00:00.001Z' }],
    ['another priority', { ...base, routingData: { ...base.routingData, priority: 6 } }],
    ['default priority instead of 5', { ...base, routingData: { queueId: SUPPORT_QUEUE_ID } }],
    ['another timeout', { ...base, timeout: 301 }],
    ['another first name', { ...base, customerData: { ...base.customerData, firstName: 'Marc' } }],
    ['an extra attribute', { ...base, customerData: { ...base.customerData, tier: 'gold' } }],
    ['a customer time zone', { ...base, timeZone: 'America/New_York' }],
  ] as const;
  it.each(different)('%s', (_label, body) => {
    expect(fingerprintOf(body)).not.toBe(reference);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });
});
