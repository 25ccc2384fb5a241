import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, type Json, startHarness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ searchLagMs: 0 });
});
afterEach(async () => {
  await h.sim.close();
});

const SEARCH = '/api/v2/conversations/participants/attributes/search';
const range = (startValue: string, endValue: string): Json => ({
  type: 'DATE_RANGE',
  fields: ['startTime'],
  startValue,
  endValue,
});
const WINDOW = range('2024-06-15T14:00:00.000Z', '2024-06-15T18:00:00.000Z');

describe('participant attributes search', () => {
  it('finds conversations by a startTime DATE_RANGE, each row with every participant attribute', async () => {
    const id = await h.create({ data: { callbackId: 'cb-s1', tenant: 'demo' } });
    const r = await h.api('POST', SEARCH, { query: [WINDOW] });
    expect(r.status).toBe(200);
    expect(r.body.types).toEqual(['conversations']);
    expect(r.body.cursor).toBeUndefined();
    expect(r.body.results).toEqual([
      {
        conversationId: id,
        startTime: '2024-06-15T15:00:00.000Z',
        divisionIds: [expect.any(String)],
        participantData: [
          {
            participantPurpose: 'customer',
            participantId: expect.any(String),
            participantAttributes: { callbackId: 'cb-s1', tenant: 'demo' },
            sessionIds: [expect.any(String)],
          },
        ],
        truncatedData: false,
      },
    ]);
    const outside = await h.api('POST', SEARCH, {
      query: [range('2024-06-15T15:00:01.000Z', '2024-06-15T18:00:00.000Z')],
    });
    expect(outside.body.results).toEqual([]);
  });

  it('refuses an attribute criterion with 400 "Search not supported", and any field but the four', async () => {
    await h.create();
    for (const criterion of [
      { type: 'EXACT', fields: ['callbackId'], value: 'cb-CRM-998271-20240615T160000Z' },
      { type: 'EXACT', fields: ['participantData.callbackId'], value: 'x' },
      {
        type: 'DATE_RANGE',
        fields: ['endTime'],
        startValue: '2024-06-15T14:00:00Z',
        endValue: '2024-06-15T18:00:00Z',
      },
    ]) {
      const r = await h.api('POST', SEARCH, { query: [WINDOW, criterion] });
      expect(r.status).toBe(400);
      expect(r.body.message).toContain('Search not supported');
    }
    const exact = await h.api('POST', SEARCH, {
      query: [WINDOW, { type: 'EXACT', fields: ['conversationId'], value: 'nope' }],
    });
    expect(exact.status).toBe(200);
    expect(exact.body.results).toEqual([]);
  });

  it('needs a startTime window of at most 24 hours', async () => {
    expect((await h.api('POST', SEARCH, { query: [] })).status).toBe(400);
    const noRange = await h.api('POST', SEARCH, {
      query: [{ type: 'EXACT', fields: ['conversationId'], value: 'x' }],
    });
    expect(noRange.status).toBe(400);
    const day = await h.api('POST', SEARCH, {
      query: [range('2024-06-15T00:00:00Z', '2024-06-16T00:00:00Z')],
    });
    expect(day.status).toBe(200);
    const more = await h.api('POST', SEARCH, {
      query: [range('2024-06-15T00:00:00Z', '2024-06-16T00:00:01Z')],
    });
    expect(more.status).toBe(400);
  });

  it('pages 50 rows at a time with a cursor, and finds only conversations that have attributes', async () => {
    for (let i = 0; i < 52; i++) await h.create({ data: { callbackId: `cb-${i}` } });
    await h.create({ data: {} });
    const first = await h.api('POST', SEARCH, { query: [WINDOW] });
    expect(first.body.results).toHaveLength(50);
    expect(typeof first.body.cursor).toBe('string');
    const second = await h.api('POST', SEARCH, { query: [WINDOW], cursor: first.body.cursor });
    expect(second.body.results).toHaveLength(2);
    expect(second.body.cursor).toBeUndefined();
    const all = [...first.body.results, ...second.body.results].map(
      (r: Json) => r.participantData[0].participantAttributes.callbackId,
    );
    expect(new Set(all).size).toBe(52);
    const foreign = await h.api('POST', SEARCH, {
      query: [range('2024-06-15T14:00:00Z', '2024-06-15T19:00:00Z')],
      cursor: first.body.cursor,
    });
    expect(foreign.status).toBe(400);
  });

  it('shows a new conversation only searchLagMs after its create', async () => {
    h.sim.control.setSearchLagMs(3000);
    await h.create();
    expect((await h.api('POST', SEARCH, { query: [WINDOW] })).body.results).toEqual([]);
    h.sim.clock.advanceMs(3000);
    expect((await h.api('POST', SEARCH, { query: [WINDOW] })).body.results).toHaveLength(1);
  });

  it('answers 403 when the simulator forbids it (the app lacks the permission)', async () => {
    const ctl = await h.raw('POST', '/sim/settings', JSON.stringify({ searchAllowed: false }), {});
    expect(ctl.body.searchAllowed).toBe(false);
    const r = await h.api('POST', SEARCH, { query: [WINDOW] });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('conversation:participant:attributesview');
    h.sim.control.setSearchAllowed(true);
    expect((await h.api('POST', SEARCH, { query: [WINDOW] })).status).toBe(200);
  });
});
