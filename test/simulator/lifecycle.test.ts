import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BILLING_QUEUE_ID, SUPPORT_QUEUE_ID } from '../../src/simulator/index.js';
import { createBody, type Harness, type Json, startHarness, waitFor } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.sim.close();
});

const DUE_MS = Date.parse('2024-06-15T16:00:00.000Z');
const at = (secondsAfterDue: number): string => new Date(DUE_MS + secondsAfterDue * 1000).toISOString();
/** Moves the clock to `secondsAfterDue` seconds after 16:00:00Z (the callbacks' scheduled time). */
const moveTo = (secondsAfterDue: number): void => {
  h.sim.clock.advanceTo(DUE_MS + secondsAfterDue * 1000);
};

async function parts(id: string): Promise<{ customer: Json; acd: Json; agent: Json | undefined }> {
  const conv = await h.get(id);
  const by = (purpose: string) => conv.participants.find((p: Json) => p.purpose === purpose);
  return { customer: by('customer'), acd: by('acd'), agent: by('agent') };
}

describe('an answered callback (agent first)', () => {
  it('goes scheduled → offered → dialing → connected → disconnected, with the times the real model sets', async () => {
    const id = await h.create({
      data: { callbackId: 'cb-1', wrapUpCode: 'PROGRAMMATIC_CALLBACK', timeoutSeconds: '300' },
    });
    moveTo(-1);
    let p = await parts(id);
    expect(p.customer.state).toBe('none');
    expect(p.acd.state).toBe('connected');
    expect(p.agent).toBeUndefined();

    moveTo(0);
    p = await parts(id);
    expect(p.agent).toMatchObject({
      state: 'alerting',
      startAlertingTime: at(0),
      user: { id: expect.any(String) },
    });
    expect(p.acd).toMatchObject({ state: 'disconnected', disconnectType: 'transfer', endTime: at(0) });
    expect(p.customer.state).toBe('none');

    moveTo(2);
    p = await parts(id);
    expect(p.customer.state).toBe('dialing');
    expect(p.agent?.state).toBe('contacting');

    // The demo customer's number answers after 6 s and talks 180 s; no DTMF asked, so bridged at once.
    moveTo(8);
    p = await parts(id);
    expect(p.customer).toMatchObject({ state: 'connected', connectedTime: at(8) });
    expect(p.agent).toMatchObject({ state: 'connected', connectedTime: at(8) });
    expect(p.customer.endTime).toBeUndefined();

    moveTo(8 + 180);
    p = await parts(id);
    expect(p.customer).toMatchObject({ state: 'disconnected', disconnectType: 'endpoint', endTime: at(188) });
    expect(p.agent).toMatchObject({
      state: 'disconnected',
      disconnectType: 'peer',
      endTime: at(188),
      wrapup: { name: 'PROGRAMMATIC_CALLBACK' },
    });
    expect(h.sim.control.conversation(id)?.endReason).toBe('completed');
  });

  it('verifies the DTMF digit from data.dtmf before bridging to the agent', async () => {
    const id = await h.create({ data: { callbackId: 'cb-2', dtmf: '5', timeoutSeconds: '60' } });
    moveTo(8);
    let p = await parts(id);
    expect(p.customer.state).toBe('connected');
    expect(p.agent?.state).toBe('contacting');
    expect(p.agent?.connectedTime).toBeUndefined();
    moveTo(12);
    p = await parts(id);
    expect(p.agent).toMatchObject({ state: 'connected', connectedTime: at(12) });
  });
});

describe('outcome rules per number', () => {
  it('noAnswer: the timeout from data.timeoutSeconds passes, disconnectType system, never connected', async () => {
    h.sim.control.setNumberRule('+14155550111', { outcome: 'noAnswer' });
    const id = await h.create({
      callbackNumbers: ['+14155550111'],
      data: { callbackId: 'x', timeoutSeconds: '60' },
    });
    moveTo(61);
    expect((await parts(id)).customer.state).toBe('dialing');
    moveTo(62);
    const p = await parts(id);
    expect(p.customer).toMatchObject({ state: 'disconnected', disconnectType: 'system', endTime: at(62) });
    expect(p.customer.connectedTime).toBeUndefined();
    expect(p.agent?.connectedTime).toBeUndefined();
    expect(p.agent?.state).toBe('disconnected');
  });

  it('noAnswer without data.timeoutSeconds uses the flow default of 300 s', async () => {
    h.sim.control.setNumberRule('+14155550111', { outcome: 'noAnswer' });
    const id = await h.create({ callbackNumbers: ['+14155550111'], data: { callbackId: 'x' } });
    moveTo(301);
    expect((await parts(id)).customer.state).toBe('dialing');
    moveTo(302);
    expect((await parts(id)).customer.state).toBe('disconnected');
  });

  it('failDtmf: answered (connectedTime set) but ended by the flow at the timeout, never bridged', async () => {
    h.sim.control.setNumberRule('+14155550112', { outcome: 'failDtmf', ringSeconds: 4 });
    const id = await h.create({
      callbackNumbers: ['+14155550112'],
      data: { callbackId: 'x', dtmf: '7', timeoutSeconds: '45' },
    });
    moveTo(47);
    const p = await parts(id);
    expect(p.customer).toMatchObject({
      state: 'disconnected',
      disconnectType: 'system',
      connectedTime: at(6),
      endTime: at(47),
    });
    expect(p.agent?.connectedTime).toBeUndefined();
    expect(h.sim.control.conversation(id)?.endReason).toBe('failedDtmf');
  });

  it('failDtmf on a callback that asks no DTMF simply connects (nothing to verify)', async () => {
    h.sim.control.setNumberRule('+14155550112', { outcome: 'failDtmf', ringSeconds: 4, talkSeconds: 10 });
    const id = await h.create({ callbackNumbers: ['+14155550112'], data: { callbackId: 'x' } });
    moveTo(20);
    expect(h.sim.control.conversation(id)?.endReason).toBe('completed');
  });

  it('busy: ends after a few seconds with disconnectType endpoint and no connectedTime', async () => {
    h.sim.control.setNumberRule('+14155550113', { outcome: 'busy' });
    const id = await h.create({ callbackNumbers: ['+14155550113'] });
    moveTo(5);
    const p = await parts(id);
    expect(p.customer).toMatchObject({ state: 'disconnected', disconnectType: 'endpoint', endTime: at(5) });
    expect(p.customer.connectedTime).toBeUndefined();
  });

  it('carrier rejection: a callerId that is no provisioned DID ends the dial with disconnectType error', async () => {
    const id = await h.create({ callerId: '+18005550000' });
    moveTo(3);
    const p = await parts(id);
    expect(p.customer).toMatchObject({
      state: 'disconnected',
      disconnectType: 'error',
      errorInfo: { code: 'outbound.call.rejected' },
    });
    expect(p.customer.connectedTime).toBeUndefined();
  });

  it('random rules draw from the seeded PRNG: two simulators with one seed give the same outcomes', async () => {
    const run = async (): Promise<(string | null | undefined)[]> => {
      const other = await startHarness({ seed: 42 });
      try {
        other.sim.control.setDefaultRule({ outcome: 'random', weights: { answer: 1, noAnswer: 1, busy: 1 } });
        const ids: string[] = [];
        for (let i = 0; i < 12; i++)
          ids.push(await other.create({ callbackNumbers: [`+1415555${1000 + i}`] }));
        other.sim.clock.advanceTo(DUE_MS + 3600_000);
        return ids.map((id) => other.sim.control.conversation(id)?.endReason);
      } finally {
        await other.sim.close();
      }
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(1);
  });
});

describe('agents and capacity', () => {
  it('keeps a callback waiting while every agent of the queue is busy, then offers it to the first free one', async () => {
    h.sim.control.setAgentCount(BILLING_QUEUE_ID, 1);
    const first = await h.create({ routingData: { queueId: BILLING_QUEUE_ID } });
    const second = await h.create({ routingData: { queueId: BILLING_QUEUE_ID } });
    moveTo(10);
    expect((await parts(first)).agent?.state).toBe('connected');
    const waiting = await parts(second);
    expect(waiting.agent).toBeUndefined();
    expect(waiting.acd.state).toBe('connected');
    expect(h.sim.control.conversation(second)?.phase).toBe('waiting');
    moveTo(8 + 180);
    const offered = await parts(second);
    expect(offered.agent).toMatchObject({ state: 'alerting', startAlertingTime: at(188) });
  });

  it('routes higher routingData.priority first among waiting callbacks', async () => {
    h.sim.control.setAgentCount(BILLING_QUEUE_ID, 0);
    const low = await h.create({ routingData: { queueId: BILLING_QUEUE_ID, priority: 1 } });
    const high = await h.create({ routingData: { queueId: BILLING_QUEUE_ID, priority: 9 } });
    moveTo(1);
    h.sim.control.setAgentCount(BILLING_QUEUE_ID, 1);
    expect((await parts(high)).agent?.state).toBe('alerting');
    expect((await parts(low)).agent).toBeUndefined();
  });

  it('capacity mode disconnect: the create answers 200, then the callback ends with errorInfo callback.capacity.exceeded', async () => {
    h.sim.control.setQueueCapacity(SUPPORT_QUEUE_ID, { maxWaiting: 1, mode: 'disconnect' });
    const ok = await h.create();
    const dropped = await h.create();
    h.sim.clock.advanceMs(0);
    expect((await parts(ok)).customer.state).toBe('none');
    expect((await parts(dropped)).customer).toMatchObject({
      state: 'disconnected',
      disconnectType: 'error',
      errorInfo: { code: 'callback.capacity.exceeded' },
    });
  });

  it('capacity mode refuse: the create itself answers 400 callback.capacity.exceeded', async () => {
    h.sim.control.setQueueCapacity(SUPPORT_QUEUE_ID, { maxWaiting: 1, mode: 'refuse' });
    await h.create();
    const r = await h.api('POST', '/api/v2/conversations/callbacks', createBody());
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('callback.capacity.exceeded');
    expect(h.sim.control.conversations()).toHaveLength(1);
  });
});

describe('analytics', () => {
  const query = (callbackId: string, extra: Json = {}) =>
    h.api('POST', '/api/v2/analytics/conversations/details/query', {
      interval: '2024-06-15T00:00:00.000Z/2024-06-16T00:00:00.000Z',
      segmentFilters: [
        {
          type: 'and',
          predicates: [
            { type: 'property', propertyType: 'string', property: 'callbackId', value: callbackId },
          ],
        },
      ],
      ...extra,
    });

  it('finds a conversation by the callbackId attribute only analyticsLagMs after the create', async () => {
    h.sim.control.setAnalyticsLagMs(5000);
    const id = await h.create({ data: { callbackId: 'cb-lag' } });
    expect((await query('cb-lag')).body).toEqual({ totalHits: 0 });
    h.sim.clock.advanceMs(4999);
    expect((await query('cb-lag')).body.totalHits).toBe(0);
    h.sim.clock.advanceMs(1);
    const r = await query('cb-lag');
    expect(r.body.totalHits).toBe(1);
    expect(r.body.conversations[0]).toMatchObject({
      conversationId: id,
      conversationStart: '2024-06-15T15:00:00.000Z',
    });
    // As in the SDK's AnalyticsConversationWithoutAttributes: attributes filter, never come back.
    expect(JSON.stringify(r.body)).not.toContain('attributes');
    expect((await query('cb-other')).body.totalHits).toBe(0);
  });

  it('shows an ended conversation as ended only after the lag', async () => {
    h.sim.control.setAnalyticsLagMs(10_000);
    await h.create({ data: { callbackId: 'cb-end' } });
    moveTo(188);
    expect((await query('cb-end')).body.conversations[0].conversationEnd).toBeUndefined();
    moveTo(198);
    expect((await query('cb-end')).body.conversations[0].conversationEnd).toBe(at(188));
  });

  it('pages, orders, and filters by interval, dimension and conversation filters', async () => {
    for (let i = 0; i < 3; i++) {
      await h.create({ data: { callbackId: 'same' } });
      h.sim.clock.advanceMs(1000);
    }
    const page1 = await query('same', { paging: { pageSize: 2, pageNumber: 1 } });
    expect(page1.body.totalHits).toBe(3);
    expect(page1.body.conversations).toHaveLength(2);
    const page2 = await query('same', { paging: { pageSize: 2, pageNumber: 2 }, order: 'desc' });
    expect(page2.body.conversations).toHaveLength(1);
    expect(page2.body.conversations[0].conversationStart).toBe('2024-06-15T15:00:00.000Z');
    const outside = await h.api('POST', '/api/v2/analytics/conversations/details/query', {
      interval: '2024-06-16T00:00:00.000Z/2024-06-17T00:00:00.000Z',
    });
    expect(outside.body.totalHits).toBe(0);
    const byQueue = await h.api('POST', '/api/v2/analytics/conversations/details/query', {
      interval: '2024-06-15T00:00:00.000Z/2024-06-16T00:00:00.000Z',
      segmentFilters: [{ type: 'and', predicates: [{ dimension: 'queueId', value: BILLING_QUEUE_ID }] }],
    });
    expect(byQueue.body.totalHits).toBe(0);
    const open = await h.api('POST', '/api/v2/analytics/conversations/details/query', {
      interval: '2024-06-15T00:00:00.000Z/2024-06-16T00:00:00.000Z',
      conversationFilters: [
        { type: 'and', predicates: [{ dimension: 'conversationEnd', operator: 'notExists' }] },
      ],
    });
    expect(open.body.totalHits).toBe(3);
  });

  it('refuses bad queries with 400', async () => {
    const post = (body: unknown) => h.api('POST', '/api/v2/analytics/conversations/details/query', body);
    expect((await post({})).status).toBe(400);
    expect((await post({ interval: 'yesterday' })).status).toBe(400);
    expect((await post({ interval: '2024-06-16T00:00:00Z/2024-06-15T00:00:00Z' })).status).toBe(400);
    expect(
      (
        await post({
          interval: '2024-06-15T00:00:00Z/2024-06-16T00:00:00Z',
          segmentFilters: [{ type: 'xor' }],
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await post({
          interval: '2024-06-15T00:00:00Z/2024-06-16T00:00:00Z',
          paging: { pageSize: 1000, pageNumber: 1 },
        })
      ).status,
    ).toBe(400);
  });

  it('observations count waiting and interacting callbacks and agents on queue', async () => {
    const observe = () =>
      h.api('POST', '/api/v2/analytics/queues/observations/query', {
        filter: {
          type: 'and',
          predicates: [
            { dimension: 'queueId', value: SUPPORT_QUEUE_ID },
            { dimension: 'mediaType', value: 'callback' },
          ],
        },
        metrics: ['oWaiting', 'oInteracting', 'oOnQueueUsers'],
      });
    await h.create();
    await h.create();
    let r = await observe();
    expect(r.status).toBe(200);
    const metric = (body: Json, name: string, qualifier?: string) =>
      body.results
        .flatMap((res: Json) => res.data)
        .find((d: Json) => d.metric === name && (qualifier === undefined || d.qualifier === qualifier))?.stats
        .count;
    expect(metric(r.body, 'oWaiting')).toBe(2);
    expect(metric(r.body, 'oInteracting')).toBe(0);
    expect(metric(r.body, 'oOnQueueUsers', 'IDLE')).toBe(5);
    const group = r.body.results.find((res: Json) => res.group.mediaType === 'callback').group;
    expect(group).toEqual({ queueId: SUPPORT_QUEUE_ID, mediaType: 'callback' });
    moveTo(10);
    r = await observe();
    expect(metric(r.body, 'oWaiting')).toBe(0);
    expect(metric(r.body, 'oInteracting')).toBe(2);
    expect(metric(r.body, 'oOnQueueUsers', 'INTERACTING')).toBe(2);
    expect(metric(r.body, 'oOnQueueUsers', 'IDLE')).toBe(3);
    const bad = await h.api('POST', '/api/v2/analytics/queues/observations/query', {
      filter: {},
      metrics: [],
    });
    expect(bad.status).toBe(400);
    const unknownMetric = await h.api('POST', '/api/v2/analytics/queues/observations/query', {
      filter: { type: 'and', predicates: [{ dimension: 'queueId', value: SUPPORT_QUEUE_ID }] },
      metrics: ['oNope'],
    });
    expect(unknownMetric.status).toBe(400);
  });
});

describe('real-time mode', () => {
  it('follows wall time and fires due events on timers without anyone advancing the clock', async () => {
    const rt = await startHarness({ realTime: true, startTime: Date.now() });
    try {
      rt.sim.control.setTimings({ offerSeconds: 0, dtmfSeconds: 0 });
      rt.sim.control.setDefaultRule({ outcome: 'answer', ringSeconds: 0, talkSeconds: 0 });
      const id = await rt.create({
        callbackNumbers: ['+14155550123'],
        callbackScheduledTime: new Date(rt.sim.clock.now() + 50).toISOString(),
      });
      await waitFor(() => rt.sim.control.conversation(id)?.endReason === 'completed');
      expect(rt.sim.clock.mode).toBe('realTime');
    } finally {
      await rt.sim.close();
    }
  });
});
