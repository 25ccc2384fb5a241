/**
 * Random and malformed bodies thrown at the real server: every answer is a 2xx or a 4xx problem
 * document with at least one violation — never a 5xx, never a dropped connection.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guideBody, startTestApi, type TestApi } from './harness.js';

const BASE = '/api/v2/routing/callbacks';
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

async function expectNoServerError(res: { status: number; body: unknown; text: string }, label: string) {
  expect(res.status, label).toBeLessThan(500);
  if (res.status >= 400) {
    const p = res.body as { status?: number; errors?: { code: string; field: string; message: string }[] };
    expect(p.status, label).toBe(res.status);
    expect(p.errors?.length, label).toBeGreaterThan(0);
    for (const e of p.errors ?? []) {
      expect(e.code, label).toMatch(/^[A-Z0-9_]+$/);
      expect(typeof e.message, label).toBe('string');
    }
  }
}

const FIELDS = [
  'callbackId',
  'callbackNumber',
  'callbackFrom',
  'callbackTo',
  'scheduledTime',
  'scheduledLocalTime',
  'timeZone',
  'dstPolicy',
  'timeout',
  'routingData',
  'mediaType',
  'customerData',
  'dtmf',
];

/** Values of every JSON type, including nasty ones. */
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.integer().map((n) => n * 1e6),
  fc.constantFrom(
    null,
    true,
    -1,
    0,
    1e308,
    '',
    ' ',
    '+',
    '+0',
    '\u0000',
    '2030-02-30T10:00:00Z',
    'NaN',
    [],
    {},
  ),
  fc.constant('x'.repeat(20_000)),
  fc.integer({ min: 40, max: 200 }).map((d) => {
    let v: unknown = 1;
    for (let i = 0; i < d; i++) v = { a: v };
    return v;
  }),
  fc.constant({ __proto__: { polluted: true } }),
);

describe('fuzzed bodies', () => {
  it('mutated guide bodies: one field replaced, removed or added', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ...FIELDS,
          'routingData.queueId',
          'routingData.priority',
          'customerData.externalId',
          'extra',
        ),
        fc.constantFrom('replace', 'remove'),
        nasty,
        async (field, how, value) => {
          const body = guideBody({ callbackId: `fz-${Math.random().toString(36).slice(2)}` });
          const [head, tail] = field.split('.');
          const target = (tail ? body[head!] : body) as Record<string, unknown>;
          const key = tail ?? head!;
          if (how === 'remove') delete target[key];
          else target[key] = value;
          const res = await api.call('POST', BASE, { body });
          await expectNoServerError(res, `${how} ${field}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('arbitrary JSON documents', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 5 }), async (value) => {
        const res = await api.call('POST', BASE, { body: value });
        await expectNoServerError(res, JSON.stringify(value).slice(0, 80));
        expect(res.status).not.toBe(201);
      }),
      { numRuns: 100 },
    );
  });

  it('raw bytes, broken JSON and invalid UTF-8 sent as application/json', async () => {
    const raw = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
      fc.tuple(fc.nat({ max: 200 }), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([cut, junk]) => {
        const text = Buffer.from(JSON.stringify(guideBody()));
        return Buffer.concat([
          text.subarray(0, cut),
          Buffer.from(junk.map((b) => b | 0x80)),
          text.subarray(cut),
        ]);
      }),
      fc
        .constantFrom(
          '{"__proto__":{"x":1}}',
          '{"constructor":{"prototype":{"x":1}}}',
          '{"routingData":{"__proto__":null}}',
          '[',
          '{"a":1,}',
          'null',
          '"str"',
          '1e999999',
          `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`,
        )
        .map((s) => Buffer.from(s)),
    );
    await fc.assert(
      fc.asyncProperty(raw, async (bytes) => {
        const res = await api.call('POST', BASE, {
          raw: bytes,
          headers: { 'content-type': 'application/json' },
        });
        await expectNoServerError(res, bytes.toString('hex').slice(0, 60));
        expect(res.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 120 },
    );
  });

  it('fuzzed PATCH bodies and query strings', async () => {
    expect((await api.call('POST', BASE, { body: guideBody({ callbackId: 'fz-patch' }) })).status).toBe(201);
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom('scheduledTime', 'callbackNumber', 'timeZone', 'x'), nasty),
        async (body) => {
          await expectNoServerError(await api.call('PATCH', `${BASE}/fz-patch`, { body }), 'patch');
        },
      ),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('status', 'queueId', 'from', 'to', 'cursor', 'limit', 'zz'),
          fc.string({ maxLength: 40 }),
        ),
        async (query) => {
          const res = await api.call('GET', `${BASE}?${new URLSearchParams(query)}`);
          await expectNoServerError(res, JSON.stringify(query));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('leaves the server healthy and the prototype of Object untouched', async () => {
    expect((await api.call('GET', '/healthz', { key: null })).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
