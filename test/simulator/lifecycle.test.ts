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

interface Parts {
  /** The customer participant holding the callback media (GET /conversations/callbacks/{id}). */
  customer: Json;
  acd: Json;
  agent: Json | undefined;
  /** GET /api/v2/conversations/{id}: every participant with callbacks[], calls[] and wrapup. */
  full: Json;
  /** The customer's voice legs, one per attempt, each on a customer participant of its own. */
  customerCalls: Json[];
  /** The agent's voice legs. */
  agentCalls: Json[];
  agentFull: Json | undefined;
}

async function parts(id: string): Promise<Parts> {
  const conv = await h.get(id);
  const by = (purpose: string) => conv.participants.filter((p: Json) => p.purpose === purpose).at(-1);
  const r = await h.api('GET', `/api/v2/conversations/${id}`);
  expect(r.status).toBe(200);
  const full = r.body;
  const agentFull = full.participants.filter((p: Json) => p.purpose === 'agent').at(-1);
  return {
    customer: conv.participants[0],
    acd: by('acd'),
    agent: by('agent'),
    full,
    customerCalls: full.participants
      .filter((p: Json) => p.purpose === 'customer' && p.calls.length > 0)
      .map((p: Json) => p.calls[0]),
    agentCalls: agentFull?.calls ?? [],
    agentFull,
  };
}

const reason = (id: string) => h.sim.control.conversation(id)?.endReason;

// The demo queues: agent-first with enableAutoDialAndEnd; the agent accepts 2 s after the offer,
// the platform dials 2 s later (autoDialDelaySeconds) and ends the callback 5 s after the last
// call (autoEndDelaySeconds). So a callback due at 0 is dialled at 4.
describe('an answered callback (agent first, auto dial and end)', () => {
  it('keeps the callback media apart from the voice legs, from scheduled to wrap-up', async () => {
    const id = await h.create({
      data: { callbackId: 'cb-1', wrapUpCode: 'RESOLVED', verifyTimeoutSeconds: '300' },
    });
    moveTo(-1);
    let p = await parts(id);
    expect(p.customer.state).toBe('none');
    expect(p.acd).toMatchObject({ state: 'connected', connectedTime: '2024-06-15T15:00:00.000Z' });
    expect(p.agent).toBeUndefined();
    expect(p.customerCalls).toEqual([]);

    moveTo(0);
    p = await parts(id);
    // Due and waiting is "connected" for the customer's callback media; an agent is alerted.
    expect(p.customer).toMatchObject({ state: 'connected', connectedTime: at(0) });
    expect(p.agent).toMatchObject({
      state: 'alerting',
      startAlertingTime: at(0),
      user: { id: expect.any(String) },
    });
    expect(p.acd).toMatchObject({ state: 'disconnected', disconnectType: 'transfer', endTime: at(0) });

    moveTo(2);
    p = await parts(id);
    expect(p.agent).toMatchObject({ state: 'connected', connectedTime: at(2) });
    expect(p.customerCalls).toEqual([]);

    moveTo(4);
    p = await parts(id);
    expect(p.customerCalls).toEqual([expect.objectContaining({ state: 'dialing', direction: 'outbound' })]);
    expect(p.agentCalls).toEqual([expect.objectContaining({ state: 'contacting', direction: 'outbound' })]);

    // The demo customer's number answers after 6 s and talks 180 s; no DTMF asked, bridged at once.
    moveTo(10);
    p = await parts(id);
    expect(p.customerCalls[0]).toMatchObject({ state: 'connected', connectedTime: at(10) });
    expect(p.agentCalls[0]).toMatchObject({ state: 'connected', connectedTime: at(10) });
    // The callback media's connectedTime says nothing about the customer being reached.
    expect(p.customer.connectedTime).toBe(at(0));

    moveTo(190);
    p = await parts(id);
    expect(p.customerCalls[0]).toMatchObject({
      state: 'disconnected',
      disconnectType: 'endpoint',
      disconnectedTime: at(190),
    });
    expect(p.agentCalls[0]).toMatchObject({ state: 'disconnected', disconnectType: 'peer' });
    // The agent's callback media outlives the call.
    expect(p.agent?.state).toBe('connected');
    expect(p.customer.state).toBe('connected');
    expect(reason(id)).toBeNull();

    moveTo(195);
    p = await parts(id);
    expect(p.agent).toMatchObject({
      state: 'disconnected',
      disconnectType: 'system',
      endTime: at(195),
      wrapup: { name: 'RESOLVED' },
      wrapupRequired: true,
    });
    expect(p.customer).toMatchObject({ state: 'disconnected', disconnectType: 'peer', endTime: at(195) });
    expect(p.agentFull?.wrapup).toMatchObject({ name: 'RESOLVED', durationSeconds: 15 });
    expect(p.full).toMatchObject({ state: 'disconnected', endTime: at(195) });
    expect(reason(id)).toBe('completed');
  });

  it('verifies the DTMF digit from data.dtmf before bridging the agent', async () => {
    const id = await h.create({ data: { callbackId: 'cb-2', dtmf: '5', verifyTimeoutSeconds: '60' } });
    moveTo(10);
    let p = await parts(id);
    expect(p.customerCalls[0]?.state).toBe('connected');
    expect(p.agentCalls[0]?.state).toBe('contacting');
    moveTo(14);
    p = await parts(id);
    expect(p.agentCalls[0]).toMatchObject({ state: 'connected', connectedTime: at(14) });
  });

  it('without enableAutoDialAndEnd the agent dials and ends the callback by hand', async () => {
    h.sim.control.configureQueue(SUPPORT_QUEUE_ID, { callback: { enableAutoDialAndEnd: false } });
    h.sim.control.setTimings({ agentDialSeconds: 7, agentEndSeconds: 9 });
    const q = await h.api('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`);
    expect(q.body.mediaSettings.callback).toMatchObject({ mode: 'AgentFirst', enableAutoDialAndEnd: false });
    const id = await h.create();
    moveTo(8);
    expect((await parts(id)).customerCalls).toEqual([]);
    moveTo(9);
    expect((await parts(id)).customerCalls).toHaveLength(1);
    // answers at 15, talks 180, hangs up at 195; the agent ends the callback 9 s later.
    moveTo(203);
    expect((await parts(id)).agent?.state).toBe('connected');
    moveTo(204);
    expect((await parts(id)).agent).toMatchObject({ state: 'disconnected', disconnectType: 'client' });
    expect(reason(id)).toBe('completed');
  });
});

describe('outcomes per number: the voice leg and the agent wrap-up tell, never the callback media', () => {
  const number = '+14155550111';
  const unreached = async (outcome: string, rule: Json = {}) => {
    h.sim.control.setNumberRule(number, { outcome, ...rule } as never);
    const id = await h.create({ callbackNumbers: [number], data: { callbackId: 'x' } });
    moveTo(600);
    return { id, p: await parts(id) };
  };

  it('no answer: the leg rings out (30 s) never connected, q850 19, wrap-up NO_ANSWER', async () => {
    const { id, p } = await unreached('noAnswer');
    expect(p.customerCalls).toEqual([
      expect.objectContaining({
        state: 'disconnected',
        disconnectType: 'peer',
        disconnectedTime: at(34),
        disconnectReasons: [expect.objectContaining({ type: 'q850', code: 19 })],
      }),
    ]);
    expect(p.customerCalls[0]?.connectedTime).toBeUndefined();
    expect(p.agentCalls[0]).toMatchObject({ disconnectType: 'system' });
    expect(p.agentCalls[0]?.connectedTime).toBeUndefined();
    expect(p.agent?.wrapup).toMatchObject({ name: 'NO_ANSWER' });
    expect(reason(id)).toBe('noAnswer');
  });

  it('busy: endpoint, never connected, q850 17, wrap-up BUSY', async () => {
    const { id, p } = await unreached('busy');
    expect(p.customerCalls[0]).toMatchObject({
      disconnectType: 'endpoint',
      disconnectedTime: at(7),
      disconnectReasons: [expect.objectContaining({ code: 17 })],
    });
    expect(p.customerCalls[0]?.connectedTime).toBeUndefined();
    expect(p.agent?.wrapup).toMatchObject({ name: 'BUSY' });
    expect(reason(id)).toBe('busy');
  });

  it('voicemail: connected and talked like a person; only the wrap-up VOICEMAIL says otherwise', async () => {
    const { id, p } = await unreached('voicemail', { ringSeconds: 5 });
    expect(p.customerCalls[0]).toMatchObject({ connectedTime: at(9), disconnectType: 'peer' });
    expect(p.agentCalls[0]).toMatchObject({ connectedTime: at(9), disconnectType: 'client' });
    expect(p.agent?.wrapup).toMatchObject({ name: 'VOICEMAIL' });
    expect(reason(id)).toBe('voicemail');
  });

  it('carrier failure: error with q850 38, never connected, wrap-up CALL_FAILED', async () => {
    const { id, p } = await unreached('carrierFailure');
    expect(p.customerCalls[0]).toMatchObject({
      disconnectType: 'error',
      disconnectReasons: [expect.objectContaining({ code: 38 })],
    });
    expect(p.agent?.wrapup).toMatchObject({ name: 'CALL_FAILED' });
    expect(reason(id)).toBe('carrierFailure');
  });

  it('a callerId that is none of the DIDs is refused by the carrier ([guess], switchable)', async () => {
    const id = await h.create({ callerId: '+18005550000' });
    moveTo(60);
    const p = await parts(id);
    expect(p.customerCalls[0]).toMatchObject({
      disconnectType: 'error',
      disconnectReasons: [expect.objectContaining({ code: 21 })],
    });
    expect(reason(id)).toBe('carrierRejected');
    h.sim.control.setCarrierRejectsUnknownCallerId(false);
    const ok = await h.create({ callerId: '+18005550000' });
    moveTo(600);
    expect(reason(ok)).toBe('completed');
  });

  it('the agent wrap-up per outcome is configurable per queue', async () => {
    h.sim.control.configureQueue(SUPPORT_QUEUE_ID, { agentWrapUps: { busy: 'PROGRAMMATIC_CALLBACK' } });
    const { p } = await unreached('busy');
    expect(p.agent?.wrapup).toMatchObject({ name: 'PROGRAMMATIC_CALLBACK' });
  });

  it('retries an unreached customer maxRetryCount times, retryDelaySeconds apart, through the numbers in turn', async () => {
    h.sim.control.configureQueue(SUPPORT_QUEUE_ID, { callback: { maxRetryCount: 2, retryDelaySeconds: 60 } });
    h.sim.control.setNumberRule(number, { outcome: 'busy' });
    h.sim.control.setNumberRule('+14155550222', { outcome: 'busy' });
    const id = await h.create({ callbackNumbers: [number, '+14155550222'] });
    moveTo(600);
    const p = await parts(id);
    expect(p.customerCalls).toHaveLength(3);
    expect(p.customerCalls.map((c) => c.startAlertingTime)).toEqual([at(4), at(67), at(130)]);
    expect(
      p.full.participants
        .filter((x: Json) => x.calls.length > 0 && x.purpose === 'customer')
        .map((x: Json) => x.address),
    ).toEqual([number, '+14155550222', number]);
    // One agent callback media across every attempt.
    expect(p.full.participants.filter((x: Json) => x.purpose === 'agent')).toHaveLength(1);
    expect(h.sim.control.conversation(id)?.attempts).toEqual(['busy', 'busy', 'busy']);
    expect(reason(id)).toBe('busy');
  });

  it('without auto dial and end the platform never retries; the agent may reschedule by hand', async () => {
    h.sim.control.configureQueue(SUPPORT_QUEUE_ID, {
      callback: { enableAutoDialAndEnd: false, maxRetryCount: 3 },
      agentOnUnreached: { action: 'reschedule', delaySeconds: 3600 },
    });
    h.sim.control.setNumberRule(number, { outcome: 'busy' });
    const id = await h.create({ callbackNumbers: [number] });
    moveTo(20);
    let p = await parts(id);
    expect(p.customerCalls).toHaveLength(1);
    // The agent rescheduled it: a new scheduled time, the callback media back to waiting.
    // offered 0, accepted 2, dialled 5 (agentDialSeconds 3), busy 8, rescheduled 5 s later (agentEndSeconds)
    expect(p.customer.callbackScheduledTime).toBe(at(13 + 3600));
    expect(p.customer.state).toBe('none');
    expect(p.agent).toMatchObject({
      state: 'disconnected',
      disconnectType: 'client',
      wrapup: { name: 'BUSY' },
    });
    expect(p.acd.state).toBe('connected');
    expect(h.sim.control.conversation(id)?.agentReschedules).toBe(1);
    expect(reason(id)).toBeNull();
    h.sim.control.setNumberRule(number, { outcome: 'answer', talkSeconds: 10 });
    moveTo(3614 + 60);
    p = await parts(id);
    expect(p.customerCalls).toHaveLength(2);
    expect(reason(id)).toBe('completed');
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

describe('flow outcomes end the conversation with the configured disconnect type and wrap-up', () => {
  it('failed DTMF: answered, never bridged, ended by the flow at the timeout (system by default)', async () => {
    h.sim.control.setNumberRule('+14155550112', { outcome: 'failDtmf', ringSeconds: 4 });
    const id = await h.create({
      callbackNumbers: ['+14155550112'],
      data: { callbackId: 'x', dtmf: '7', verifyTimeoutSeconds: '45' },
    });
    moveTo(49);
    const p = await parts(id);
    expect(p.customerCalls[0]).toMatchObject({
      connectedTime: at(8),
      disconnectType: 'system',
      disconnectedTime: at(49),
    });
    expect(p.agentCalls[0]?.connectedTime).toBeUndefined();
    expect(p.customer).toMatchObject({ state: 'disconnected', disconnectType: 'system' });
    expect(p.agent?.wrapup).toBeUndefined();
    expect(p.agent?.wrapupRequired).toBe(false);
    expect(reason(id)).toBe('failedDtmf');
  });

  it('failed DTMF with a configured wrap-up code and disconnect type', async () => {
    h.sim.control.configureQueue(SUPPORT_QUEUE_ID, {
      flow: { failedDtmf: { disconnectType: 'other', wrapUpCode: 'CALL_FAILED' } },
    });
    h.sim.control.setNumberRule('+14155550112', { outcome: 'failDtmf', ringSeconds: 4 });
    const id = await h.create({
      callbackNumbers: ['+14155550112'],
      data: { dtmf: '7', verifyTimeoutSeconds: '45' },
    });
    moveTo(60);
    const p = await parts(id);
    expect(p.customerCalls[0]?.disconnectType).toBe('other');
    expect(p.agent?.wrapup).toMatchObject({ name: 'CALL_FAILED' });
  });

  it('failDtmf on a callback that asks no DTMF simply connects (nothing to verify)', async () => {
    h.sim.control.setNumberRule('+14155550112', { outcome: 'failDtmf', ringSeconds: 4, talkSeconds: 10 });
    const id = await h.create({ callbackNumbers: ['+14155550112'], data: { callbackId: 'x' } });
    moveTo(30);
    expect(reason(id)).toBe('completed');
  });

  it('answer-and-verify timeout: a ring longer than the timeout ends through the flow (legacy timeoutSeconds read too)', async () => {
    h.sim.control.setNumberRule('+14155550113', { outcome: 'answer', ringSeconds: 25 });
    const id = await h.create({ callbackNumbers: ['+14155550113'], data: { timeoutSeconds: '20' } });
    moveTo(23);
    expect((await parts(id)).customerCalls[0]?.state).toBe('dialing');
    moveTo(24);
    const p = await parts(id);
    expect(p.customerCalls[0]).toMatchObject({ state: 'disconnected', disconnectType: 'system' });
    expect(reason(id)).toBe('timeout');
  });

  it('the default answer-and-verify timeout is 300 s', async () => {
    h.sim.control.setTimings({ noAnswerSeconds: 1000 });
    h.sim.control.setNumberRule('+14155550113', { outcome: 'noAnswer' });
    const id = await h.create({ callbackNumbers: ['+14155550113'] });
    moveTo(303);
    expect((await parts(id)).customerCalls[0]?.state).toBe('dialing');
    moveTo(304);
    expect(reason(id)).toBe('timeout');
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
    // The first one talks 10 → 190 and the platform ends it 5 s later, freeing the agent.
    moveTo(194);
    expect((await parts(second)).agent).toBeUndefined();
    moveTo(195);
    const offered = await parts(second);
    expect(offered.agent).toMatchObject({ state: 'alerting', startAlertingTime: at(195) });
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

  it('capacity refusal is a flow outcome: the create answers 200, then the flow ends it (no platform error code)', async () => {
    h.sim.control.setQueueCapacity(SUPPORT_QUEUE_ID, { maxWaiting: 1 });
    h.sim.control.configureQueue(SUPPORT_QUEUE_ID, {
      flow: { capacity: { disconnectType: 'system', wrapUpCode: 'CALL_FAILED' } },
    });
    const ok = await h.create();
    const r = await h.api('POST', '/api/v2/conversations/callbacks', createBody());
    expect(r.status).toBe(200);
    const dropped = r.body.conversation.id;
    h.sim.clock.advanceMs(0);
    expect((await parts(ok)).customer.state).toBe('none');
    const p = await parts(dropped);
    expect(p.customer).toMatchObject({
      state: 'disconnected',
      disconnectType: 'system',
      wrapup: { name: 'CALL_FAILED' },
    });
    expect(p.customer.errorInfo).toBeUndefined();
    expect(p.customerCalls).toEqual([]);
    expect(JSON.stringify(p.full)).not.toContain('capacity.exceeded');
    expect(reason(dropped)).toBe('capacityRejected');
  });
});

describe('analytics details', () => {
  const DETAILS = '/api/v2/analytics/conversations/details/query';
  const DAY = '2024-06-15T00:00:00.000Z/2024-06-16T00:00:00.000Z';
  const byProperty = (callbackId: string, extra: Json = {}) =>
    h.api('POST', DETAILS, {
      interval: DAY,
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
  const byQueue = (extra: Json = {}) =>
    h.api('POST', DETAILS, {
      interval: DAY,
      segmentFilters: [
        {
          type: 'and',
          predicates: [
            { dimension: 'queueId', value: SUPPORT_QUEUE_ID },
            { dimension: 'mediaType', value: 'callback' },
          ],
        },
      ],
      ...extra,
    });

  it('a property predicate on the callbackId attribute finds nothing; an indexed segment property does', async () => {
    const id = await h.create({ data: { callbackId: 'cb-prop' } });
    h.sim.clock.advanceMs(10_000);
    expect((await byProperty('cb-prop')).body).toEqual({ totalHits: 0 });
    const conv = (await byQueue()).body.conversations[0];
    expect(conv.conversationId).toBe(id);
    // As the SDK's AnalyticsConversationWithoutAttributes: no attributes in the results.
    expect(JSON.stringify(conv)).not.toContain('cb-prop');
    const sessionId = conv.participants[0].sessions[0].sessionId;
    const idx = await h.api('POST', `/api/v2/analytics/conversations/${id}/details/properties`, {
      sessionId,
      targetDate: '2024-06-15T15:00:00.000Z',
      properties: [{ property: 'callbackId', propertyType: 'string', value: 'cb-prop' }],
    });
    expect(idx.status).toBe(202);
    const found = await byProperty('cb-prop');
    expect(found.body.totalHits).toBe(1);
    expect(found.body.conversations[0].participants[0].sessions[0].segments[0].properties).toEqual([
      { property: 'callbackId', propertyType: 'string', value: 'cb-prop' },
    ]);
    const bad = await h.api('POST', `/api/v2/analytics/conversations/${id}/details/properties`, {
      sessionId: 'nope',
      targetDate: '2024-06-15T15:00:00.000Z',
      properties: [{ property: 'callbackId', propertyType: 'string', value: 'x' }],
    });
    expect(bad.status).toBe(400);
  });

  it('shows a conversation only analyticsLagMs after each change', async () => {
    h.sim.control.setAnalyticsLagMs(10_000);
    const id = await h.create();
    expect((await byQueue()).body.totalHits).toBe(0);
    h.sim.clock.advanceMs(10_000);
    expect((await byQueue()).body.totalHits).toBe(1);
    moveTo(195);
    expect((await byQueue()).body.conversations[0].conversationEnd).toBeUndefined();
    moveTo(205);
    expect((await byQueue()).body.conversations[0].conversationEnd).toBe(at(195));
    const byId = await h.api('GET', `/api/v2/analytics/conversations/details?id=${id}&id=unknown`);
    expect(byId.body.conversations.map((c: Json) => c.conversationId)).toEqual([id]);
  });

  it('has callback and voice sessions with segments, disconnect types, wrap-up and tTalk', async () => {
    const id = await h.create();
    moveTo(300);
    const r = await h.api('GET', `/api/v2/analytics/conversations/details?id=${id}`);
    const conv = r.body.conversations[0];
    const sessions = conv.participants.flatMap((p: Json) =>
      p.sessions.map((x: Json) => ({ purpose: p.purpose, ...x })),
    );
    const types = (purpose: string, mediaType: string) =>
      sessions
        .filter((x: Json) => x.purpose === purpose && x.mediaType === mediaType)
        .map((x: Json) => x.segments.map((g: Json) => g.segmentType));
    expect(types('customer', 'callback')).toEqual([['scheduled', 'interact']]);
    expect(types('customer', 'voice')).toEqual([['dialing', 'interact']]);
    expect(types('agent', 'callback')).toEqual([['alert', 'interact', 'wrapup']]);
    expect(types('agent', 'voice')).toEqual([['contacting', 'interact']]);
    const agentVoice = sessions.find((x: Json) => x.purpose === 'agent' && x.mediaType === 'voice');
    expect(agentVoice.metrics).toEqual([{ name: 'tTalk', value: 180_000, emitDate: at(190) }]);
    const custVoice = sessions.find((x: Json) => x.purpose === 'customer' && x.mediaType === 'voice');
    expect(custVoice).toMatchObject({ direction: 'outbound', dnis: 'tel:+14155552671' });
    expect(custVoice.segments.at(-1).disconnectType).toBe('endpoint');
    const wrap = sessions
      .find((x: Json) => x.purpose === 'agent' && x.mediaType === 'callback')
      .segments.at(-1);
    expect(wrap.wrapUpCode).toBe('c0de0001-0000-4000-8000-000000000001');
    const byWrapUp = await h.api('POST', DETAILS, {
      interval: DAY,
      segmentFilters: [{ type: 'and', predicates: [{ dimension: 'wrapUpCode', value: wrap.wrapUpCode }] }],
    });
    expect(byWrapUp.body.totalHits).toBe(1);
  });

  it('matches conversations that started on any UTC day the interval touches', async () => {
    await h.create(); // 15:00Z
    const r = await h.api('POST', DETAILS, { interval: '2024-06-15T23:00:00.000Z/2024-06-16T01:00:00.000Z' });
    expect(r.body.totalHits).toBe(1);
    const next = await h.api('POST', DETAILS, {
      interval: '2024-06-16T00:00:00.000Z/2024-06-16T01:00:00.000Z',
    });
    expect(next.body.totalHits).toBe(0);
  });

  it('limits the interval to 7 days without filters and 31 days with filters', async () => {
    const eightDays = '2024-06-01T00:00:00.000Z/2024-06-09T00:00:00.000Z';
    const sevenDays = '2024-06-01T00:00:00.000Z/2024-06-08T00:00:00.000Z';
    expect((await h.api('POST', DETAILS, { interval: sevenDays })).status).toBe(200);
    const tooLong = await h.api('POST', DETAILS, { interval: eightDays });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toContain('7 days');
    const filter = [{ type: 'and', predicates: [{ dimension: 'queueId', value: SUPPORT_QUEUE_ID }] }];
    expect((await h.api('POST', DETAILS, { interval: eightDays, segmentFilters: filter })).status).toBe(200);
    const month = '2024-06-01T00:00:00.000Z/2024-07-03T00:00:00.000Z';
    expect((await h.api('POST', DETAILS, { interval: month, segmentFilters: filter })).status).toBe(400);
  });

  it('pages 25 by default, orders, and stops paging at 100,000', async () => {
    for (let i = 0; i < 27; i++) {
      await h.create();
      h.sim.clock.advanceMs(1000);
    }
    const first = await byQueue();
    expect(first.body.totalHits).toBe(27);
    expect(first.body.conversations).toHaveLength(25);
    const last = await byQueue({ paging: { pageSize: 25, pageNumber: 2 }, order: 'desc' });
    expect(last.body.conversations).toHaveLength(2);
    expect(last.body.conversations[1].conversationStart).toBe('2024-06-15T15:00:00.000Z');
    expect((await byQueue({ paging: { pageSize: 100, pageNumber: 1000 } })).status).toBe(200);
    expect((await byQueue({ paging: { pageSize: 100, pageNumber: 1001 } })).status).toBe(400);
    const open = await h.api('POST', DETAILS, {
      interval: DAY,
      conversationFilters: [
        { type: 'and', predicates: [{ dimension: 'conversationEnd', operator: 'notExists' }] },
      ],
    });
    expect(open.body.totalHits).toBe(27);
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
      rt.sim.control.configureQueue(SUPPORT_QUEUE_ID, {
        callback: { autoDialDelaySeconds: 0, autoEndDelaySeconds: 0 },
      });
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
