import type { Models } from 'purecloud-platform-client-v2';
/**
 * Every outcome of a callback's life, end to end: ledger (SQLite) → submitter → simulator →
 * tracker → ledger, on the simulator's manual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROUTED_TO_OVERFLOW } from '../../src/jobs/capacity.js';
import { cancelCallback } from '../../src/usecases/cancel.js';
import {
  BILLING_QUEUE_ID,
  type EngineHarness,
  MINUTE,
  SUPPORT_QUEUE_ID,
  startEngineHarness,
  statusIs,
} from './harness.js';

let h: EngineHarness;
beforeEach(async () => {
  h = await startEngineHarness();
});
afterEach(async () => {
  await h.close();
});

const statuses = (cb: { history: { status: string }[] }) => cb.history.map((e) => e.status);

describe('callback outcomes tracked from the platform', () => {
  it('completes when the customer answers and is connected to an agent', async () => {
    const cb = await h.accept({ callbackNumber: '+14155552671' });
    await h.runUntil(statusIs(h, cb.callbackId, 'completed'), { maxMs: 20 * MINUTE });
    const done = await h.get(cb.callbackId);
    expect(statuses(done)).toEqual(['accepted', 'pending', 'completed']);
    expect(done.statusReason).toBeNull();
    expect(done.conversationId).not.toBeNull();
    // Completed once the agent ended the callback with its wrap-up (a wrap-up such as VOICEMAIL
    // could still say otherwise before that). Polling alone (no channel in this harness) reads a
    // long unchanged call at most activeMaxSpacingMs (30 s) apart; the channel brings the end at once.
    const conv = h.sim.control.conversation(done.conversationId!)!;
    const full = conv.full as unknown as Models.Conversation;
    const agent = full.participants.find((p) => p.purpose === 'agent')!;
    expect(agent.wrapup?.code).toBeDefined();
    const endedAt = Date.parse(agent.callbacks![0]!.disconnectedTime!);
    expect(done.updatedAt).toBeGreaterThanOrEqual(endedAt);
    expect(done.updatedAt - endedAt).toBeLessThanOrEqual(30_000);
    // One CRM event per transition.
    const rows = await h.store.leaseOutbox('webhook', 10, 1_000, h.now());
    expect(rows.map((r) => r.eventType).sort()).toEqual([
      'callback.accepted',
      'callback.completed',
      'callback.pending',
    ]);
  });

  it('expires when the customer never answers before the timeout', async () => {
    const cb = await h.accept({ callbackNumber: '+14155550101', timeout: 60 });
    await h.runUntil(statusIs(h, cb.callbackId, 'expired', 'completed', 'rejected'), { maxMs: 20 * MINUTE });
    const done = await h.get(cb.callbackId);
    expect(done.status).toBe('expired');
    expect(done.statusReason?.code).toBe('NO_ANSWER');
    expect(done.statusReason?.message).toMatch(/did not answer/);
  });

  it('expires when the customer answers but fails DTMF verification', async () => {
    const cb = await h.accept({
      callbackNumber: '+14155550102',
      callbackFrom: '+18005551235',
      callbackTo: '+18005551235',
      routingData: { queueId: BILLING_QUEUE_ID, priority: 0 },
      dtmf: '1',
      timeout: 60,
    });
    await h.runUntil(statusIs(h, cb.callbackId, 'expired', 'completed', 'rejected'), { maxMs: 20 * MINUTE });
    const done = await h.get(cb.callbackId);
    expect(done.status).toBe('expired');
    expect(done.statusReason?.code).toBe('VERIFICATION_FAILED');
  });

  it('is rejected with its reason code when the carrier refuses the call', async () => {
    // A caller id the org has not provisioned: the carrier refuses the outbound leg.
    const cb = await h.accept({ callbackFrom: '+18005559999', callbackTo: '+18005559999' });
    await h.runUntil(statusIs(h, cb.callbackId, 'expired', 'completed', 'rejected'), { maxMs: 20 * MINUTE });
    const done = await h.get(cb.callbackId);
    expect(done.status).toBe('rejected');
    expect(done.statusReason?.code).toBe('PLATFORM_REJECTED');
    expect(statuses(done)).toEqual(['accepted', 'pending', 'rejected']);
  });
});

describe('capacity', () => {
  it('returns a capacity-rejected callback to accepted, resubmits it 15-30 min later, and completes', async () => {
    h.sim.control.setQueueCapacity(SUPPORT_QUEUE_ID, { maxWaiting: 0, mode: 'disconnect' });
    const cb = await h.accept({ inMs: 5 * MINUTE });
    await h.runUntil(async () => (await h.get(cb.callbackId)).history.length >= 3, { maxMs: 2 * MINUTE });
    const retrying = await h.get(cb.callbackId);
    expect(statuses(retrying)).toEqual(['accepted', 'pending', 'accepted']);
    expect(retrying.statusReason?.code).toBe('QUEUE_FULL');
    expect(retrying.conversationId).toBeNull();
    const delay = retrying.nextAttemptAt! - retrying.updatedAt;
    expect(delay).toBeGreaterThanOrEqual(15 * MINUTE);
    expect(delay).toBeLessThanOrEqual(30 * MINUTE);

    // Room again: the resubmission goes through and the customer is reached.
    h.sim.control.setQueueCapacity(SUPPORT_QUEUE_ID, undefined);
    // Nothing is resubmitted before nextAttemptAt.
    await h.runFor(10 * MINUTE, 10_000);
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })).toHaveLength(1);
    await h.runUntil(statusIs(h, cb.callbackId, 'completed', 'rejected', 'expired'), {
      stepMs: 5_000,
      maxMs: 40 * MINUTE,
    });
    const done = await h.get(cb.callbackId);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(2);
    expect(statuses(done)).toEqual(['accepted', 'pending', 'accepted', 'pending', 'completed']);
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })).toHaveLength(2);
  });

  it('rejects for good once the queue attempt limit is spent', async () => {
    h.sim.control.setQueueCapacity(SUPPORT_QUEUE_ID, { maxWaiting: 0, mode: 'disconnect' });
    const cb = await h.accept({ inMs: 5 * MINUTE });
    await h.runUntil(statusIs(h, cb.callbackId, 'rejected', 'completed', 'expired'), {
      stepMs: 15_000,
      maxMs: 3 * 60 * MINUTE,
    });
    const done = await h.get(cb.callbackId);
    expect(done.status).toBe('rejected');
    expect(done.statusReason?.code).toBe('RETRIES_EXHAUSTED');
    // Support allows 3 retries after the first refusal: 4 platform callbacks in all, no more.
    expect(done.attempts).toBe(4);
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })).toHaveLength(4);
    await h.runFor(60 * MINUTE, 60_000);
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })).toHaveLength(4);
  });

  it('routes to the overflow queue when the queue is at maxCallbacks, and records it in the history', async () => {
    const billing = (n: number) => ({
      callbackId: `cb-billing-${n}`,
      callbackFrom: '+18005551235',
      callbackTo: '+18005551235',
      routingData: { queueId: BILLING_QUEUE_ID, priority: 0 },
      dtmf: '1',
      inMs: 24 * 60 * MINUTE,
    });
    // Billing takes 5 waiting callbacks.
    for (let i = 1; i <= 5; i++) await h.accept(billing(i));
    await h.runUntil(async () => h.sim.control.conversations().length === 5, { maxMs: MINUTE });
    // Past the capacity cache, so the next pre-flight observes the queue afresh.
    await h.runFor(10_000);
    const sixth = await h.accept(billing(6));
    await h.runUntil(statusIs(h, sixth.callbackId, 'pending'), { maxMs: MINUTE });
    const routed = await h.get(sixth.callbackId);
    expect(routed.history.at(-1)?.reason?.code).toBe(ROUTED_TO_OVERFLOW);
    expect(routed.statusReason?.message).toMatch(/routed to its overflow queue/);
    const conv = h.sim.control.conversations({ callbackId: sixth.callbackId });
    expect(conv.map((c) => c.queueId)).toEqual([SUPPORT_QUEUE_ID]);
    for (let i = 1; i <= 5; i++) {
      expect(h.sim.control.conversations({ callbackId: `cb-billing-${i}` })[0]?.queueId).toBe(
        BILLING_QUEUE_ID,
      );
    }
  });
});

describe('outcomes and changes the whole conversation shows', () => {
  const endedOf = async (id: string) => statusIs(h, id, 'expired', 'completed', 'rejected');

  it.each([
    ['+14155550103', 'BUSY', 'busy'],
    ['+14155550104', 'VOICEMAIL', 'voicemail'],
  ])('%s ends expired with %s (the wrap-up code decides, mapped in wrapUpOutcomes)', async (number, code) => {
    const cb = await h.accept({ callbackNumber: number });
    await h.runUntil(await endedOf(cb.callbackId), { maxMs: 20 * MINUTE });
    const done = await h.get(cb.callbackId);
    expect(done.status).toBe('expired');
    expect(done.statusReason?.code).toBe(code);
    expect(done.statusReason?.message).toContain(`wrap-up code ${code}`);
    // The CRM is told once per transition.
    const rows = await h.store.leaseOutbox('webhook', 10, 1_000, h.now());
    expect(rows.filter((r) => r.eventType === 'callback.expired')).toHaveLength(1);
  });

  it('records when the platform first dialled the customer (first_dialed_at)', async () => {
    const cb = await h.accept({ callbackNumber: '+14155552671' });
    await h.runUntil(statusIs(h, cb.callbackId, 'completed'), { maxMs: 20 * MINUTE });
    const done = await h.get(cb.callbackId);
    const full = h.sim.control.conversation(done.conversationId!)!.full as unknown as Models.Conversation;
    const legs = full.participants
      .filter((p) => p.purpose === 'customer' && (p.callbacks ?? []).length === 0)
      .flatMap((p) => (p.calls ?? []).map((c) => Date.parse(c.startAlertingTime ?? p.startTime ?? '')));
    expect(legs.length).toBeGreaterThan(0);
    expect(done.firstDialedAt).toBe(Math.min(...legs));
    expect(done.firstDialedAt).toBeGreaterThanOrEqual(Date.parse(done.spec.scheduledTime));
  });

  it('a supervisor moving the callback on the platform is recorded, the resource follows, the CRM is told', async () => {
    const cb = await h.accept({ inMs: 3 * 60 * MINUTE });
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'), { maxMs: MINUTE });
    await h.runFor(2 * MINUTE, 10_000);
    const moved = new Date(Date.parse(cb.spec.scheduledTime) + 60 * MINUTE).toISOString();
    const { conversationId } = await h.get(cb.callbackId);
    h.sim.control.supervisorReschedule(conversationId!, { callbackScheduledTime: moved });
    await h.runUntil(async () => (await h.get(cb.callbackId)).spec.scheduledTime === moved, {
      stepMs: 60_000,
      maxMs: 3 * 60 * MINUTE,
    });
    const after = await h.get(cb.callbackId);
    expect(after.status).toBe('pending');
    expect(after.history.at(-1)?.reason?.code).toBe('CHANGED_ON_PLATFORM');
    expect(after.history.at(-1)?.reason?.message).toContain(moved);
    const rows = await h.store.leaseOutbox('webhook', 10, 1_000, h.now());
    expect(rows.filter((r) => r.eventType === 'callback.pending')).toHaveLength(2);
  });

  it('a supervisor disconnecting it on the platform ends it rejected DISCONNECTED_ON_PLATFORM, never left pending', async () => {
    const cb = await h.accept({ inMs: 60 * MINUTE });
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'), { maxMs: MINUTE });
    h.sim.control.supervisorDisconnect((await h.get(cb.callbackId)).conversationId!);
    await h.runUntil(await endedOf(cb.callbackId), { stepMs: 60_000, maxMs: 2 * 60 * MINUTE });
    const done = await h.get(cb.callbackId);
    expect(done.status).toBe('rejected');
    expect(done.statusReason?.code).toBe('DISCONNECTED_ON_PLATFORM');
  });
});

describe('reconciliation sweep', () => {
  it('repairs a change the poll cannot see: a far-future callback disconnected on the platform', async () => {
    const cb = await h.accept({ inMs: 24 * 60 * MINUTE });
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'), { maxMs: MINUTE });
    // Past the recently-changed window: the poll leaves it alone until it is due.
    await h.runFor(10 * MINUTE, 10_000);
    const pending = await h.get(cb.callbackId);
    // Someone disconnects it in Genesys itself, behind callbackd's back.
    await h.genesys.disconnectCallback(pending.conversationId!);
    h.sim.clock.advanceMs(7 * 60 * MINUTE);
    const poll = await h.tracker.pollOnce();
    expect(poll.checked).toBe(0);
    expect((await h.get(cb.callbackId)).status).toBe('pending');

    const sweep = await h.tracker.sweepOnce();
    expect(sweep).toMatchObject({ checked: 1, changed: 1, errors: 0 });
    const repaired = await h.get(cb.callbackId);
    expect(repaired.status).toBe('rejected');
    expect(repaired.statusReason?.code).toBe('DISCONNECTED_ON_PLATFORM');
  });

  it('walks the non-terminal callbacks a page at a time within a per-sweep budget, resuming where it stopped', async () => {
    await h.close();
    h = await startEngineHarness({ tracker: { sweepPageSize: 2, sweepMaxChecks: 3 } });
    for (let i = 0; i < 5; i++) await h.accept({ inMs: 24 * 60 * MINUTE });
    await h.runUntil(async () => h.sim.control.conversations().length === 5, { maxMs: MINUTE });
    await h.runFor(10 * MINUTE, 10_000);
    h.sim.clock.advanceMs(7 * 60 * MINUTE);
    h.sim.control.resetCounters();
    const first = await h.tracker.sweepOnce();
    const second = await h.tracker.sweepOnce();
    expect([first.checked, second.checked]).toEqual([3, 2]);
    expect(h.sim.control.requestCount('getConversation')).toBe(5);
  });
});

describe('platform calls', () => {
  it('stays within a small bound of platform calls per tracked callback', async () => {
    h.sim.control.resetCounters();
    const n = 10;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await h.accept({ inMs: 30 * MINUTE })).callbackId);
    const allEnded = async () => {
      for (const id of ids) if ((await h.get(id)).status !== 'completed') return false;
      return true;
    };
    await h.runUntil(allEnded, { stepMs: 1_000, maxMs: 45 * MINUTE });
    // And nothing more once they ended.
    await h.runFor(30 * MINUTE, 10_000);
    const creates = h.sim.control.requestCount('createCallback');
    const reads = h.sim.control.requestCount('getConversation');
    const observations = h.sim.control.requestCount('queueObservations');
    expect(creates).toBe(n);
    // Per callback: 3 reads right after submission (+5 s, +15 s, +45 s), 2 sweep reads in the
    // 30 minutes before it is due, one as it falls due, then reads while it is dialled and talked
    // to (backing off to 30 s on a long unchanged call: the outcome waits for the end and the
    // wrap-up), with back-off while it waits for one of the 5 agents. Measured 22 with polling
    // alone; the notification channel (on by default in the app) replaces most of them.
    expect(reads / n).toBeLessThanOrEqual(24);
    // The capacity pre-flight is cached: one observation for the burst, not one per callback.
    expect(observations).toBe(1);
    // Every platform call, all told (the token request aside).
    expect((h.sim.control.requestCount() - h.sim.control.requestCount('token')) / n).toBeLessThanOrEqual(25);
    expect(h.sim.control.requestCount('conversationDetails')).toBe(0);
  });
});

describe('cancel', () => {
  it('cancels an accepted callback before it is submitted: nothing ever reaches the platform', async () => {
    const cb = await h.accept();
    const res = await cancelCallback(h.store, h.genesys, h.sim.clock, 'demo', cb.callbackId);
    expect(res.ok && res.callback.status).toBe('cancelled');
    await h.runFor(15 * MINUTE, 10_000);
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })).toHaveLength(0);
    expect(statuses(await h.get(cb.callbackId))).toEqual(['accepted', 'cancelled']);
  });

  it('cancels a pending callback by disconnecting it on the platform, and answers a repeat the same', async () => {
    const cb = await h.accept();
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'), { maxMs: MINUTE });
    const res = await cancelCallback(h.store, h.genesys, h.sim.clock, 'demo', cb.callbackId);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.changed).toBe(true);
    expect(res.callback.status).toBe('cancelled');
    expect(res.callback.statusReason?.code).toBe('CANCELLED_BY_USER');
    const [conv] = h.sim.control.conversations({ callbackId: cb.callbackId });
    expect(conv?.endReason).toBe('disconnectedByApi');

    const again = await cancelCallback(h.store, h.genesys, h.sim.clock, 'demo', cb.callbackId);
    expect(again).toMatchObject({ ok: true, changed: false });
    if (again.ok) expect(again.callback).toEqual(res.callback);
    // The tracker sees the disconnected conversation but cancelled is terminal.
    await h.runFor(15 * MINUTE, 10_000);
    expect((await h.get(cb.callbackId)).status).toBe('cancelled');
  });

  it('refuses to cancel a finished callback with INVALID_STATE (409), and an unknown one with 404', async () => {
    const cb = await h.accept({ inMs: 3 * MINUTE });
    await h.runUntil(statusIs(h, cb.callbackId, 'completed'), { maxMs: 10 * MINUTE });
    const res = await cancelCallback(h.store, h.genesys, h.sim.clock, 'demo', cb.callbackId);
    expect(res).toMatchObject({ ok: false, refusal: 'invalid_state', errors: [{ code: 'INVALID_STATE' }] });
    const missing = await cancelCallback(h.store, h.genesys, h.sim.clock, 'demo', 'cb-nope');
    expect(missing).toMatchObject({
      ok: false,
      refusal: 'not_found',
      errors: [{ code: 'CALLBACK_NOT_FOUND' }],
    });
    // Another tenant cannot see it either.
    const other = await cancelCallback(h.store, h.genesys, h.sim.clock, 'other', cb.callbackId);
    expect(other).toMatchObject({ ok: false, refusal: 'not_found' });
  });
});
