/**
 * Cancel and reschedule as the API calls them, against the simulator and a SQLite ledger:
 * only while accepted or pending, safe to repeat, never resurrected by a submit in flight.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staticTrustedNumbers } from '../../src/adapters/customers.js';
import { createCallbackLookup } from '../../src/genesys/lookup.js';
import { cancelFollowupTask } from '../../src/jobs/cancel-followup.js';
import { rescheduleFollowupTask } from '../../src/jobs/reschedule-followup.js';
import { createJobLoop } from '../../src/jobs/runtime.js';
import { cancelCallback } from '../../src/usecases/cancel.js';
import { rescheduleCallback } from '../../src/usecases/reschedule.js';
import { type EngineHarness, MINUTE, policies, startEngineHarness, statusIs } from './harness.js';

let h: EngineHarness;
beforeEach(async () => {
  h = await startEngineHarness();
});
afterEach(async () => {
  await h.close();
});

const cancel = (id: string) => cancelCallback(h.store, h.genesys, h.sim.clock, 'demo', id);
const reschedule = (id: string, body: unknown) =>
  rescheduleCallback(h.store, h.genesys, h.sim.clock, 'demo', id, body, {
    policies,
    trustedNumbers: staticTrustedNumbers({ 'CRM-998271': ['+14155552671', '+14155550199'] }),
  });
const iso = (ms: number) => new Date(ms).toISOString();
const platformTime = (callbackId: string) =>
  h.sim.control.conversations({ callbackId })[0]?.callbackScheduledTime;

describe('cancel racing a submit', () => {
  it('disconnects the conversation a create in flight made after the callback was cancelled', async () => {
    const cb = await h.accept();
    // A submit has marked its create in flight and sent it; its answer is not recorded yet.
    expect(await h.store.markSubmitInFlight(cb.pk, h.now())).toBe(true);
    const created = await h.genesys.createCallback(cb.spec, { tenantId: 'demo' });

    const res = await cancel(cb.callbackId);
    expect(res).toMatchObject({ ok: true, changed: true, callback: { status: 'cancelled' } });
    // The submit's own transition to pending can no longer apply.
    const late = await h.store.transition({
      pk: cb.pk,
      from: ['accepted'],
      to: 'pending',
      reason: null,
      at: h.now(),
      set: { conversationId: created.conversationId },
      outbox: [],
    });
    expect(late).toBeNull();

    const followup = createJobLoop(
      { store: h.store, clock: h.sim.clock, workerId: 'followups' },
      cancelFollowupTask({
        store: h.store,
        genesys: h.genesys,
        lookup: createCallbackLookup({ genesys: h.genesys, clock: h.sim.clock }),
        clock: h.sim.clock,
      }),
    );
    expect(await followup.runOnce()).toEqual({ jobs: 0, outcomes: {} });
    h.sim.clock.advanceMs(15_000);
    expect(await followup.runOnce()).toEqual({ jobs: 1, outcomes: { disconnected: 1 } });
    expect(h.sim.control.conversation(created.conversationId)?.endReason).toBe('disconnectedByApi');
    // Later look-ups (analytics may lag) find nothing live; the job ends after its last look-up.
    for (let i = 0; i < 4; i++) {
      h.sim.clock.advanceMs(10 * MINUTE);
      await followup.runOnce();
    }
    h.sim.clock.advanceMs(60 * MINUTE);
    expect(await followup.runOnce()).toEqual({ jobs: 0, outcomes: {} });
    // The submit job finds nothing to send.
    await h.runFor(MINUTE);
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })).toHaveLength(1);
    expect((await h.get(cb.callbackId)).status).toBe('cancelled');
  });
});

describe('cancel against platform failures', () => {
  it('answers 503 and changes nothing when the platform does not confirm the disconnect', async () => {
    const cb = await h.accept();
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'), { maxMs: MINUTE });
    h.sim.control.addFault({ endpoint: 'disconnectCallback', kind: 'error', status: 503, times: 5 });
    const res = await cancel(cb.callbackId);
    expect(res).toMatchObject({
      ok: false,
      refusal: 'unconfirmed',
      errors: [{ code: 'PLATFORM_UNAVAILABLE' }],
    });
    expect(h.sim.control.counters().disconnectCallback?.['503']).toBeGreaterThanOrEqual(1);
    expect((await h.get(cb.callbackId)).status).toBe('pending');
    h.sim.control.clearFaults();
    expect(await cancel(cb.callbackId)).toMatchObject({ ok: true, callback: { status: 'cancelled' } });
  });

  it('still ends cancelled when the disconnect took effect but its answer was lost', async () => {
    const cb = await h.accept();
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'), { maxMs: MINUTE });
    h.sim.control.addFault({ endpoint: 'disconnectCallback', kind: 'commitNoAnswer', times: 1 });
    const res = await cancel(cb.callbackId);
    expect(res).toMatchObject({
      ok: true,
      callback: { status: 'cancelled', statusReason: { code: 'CANCELLED_BY_USER' } },
    });
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })[0]?.endReason).toBe(
      'disconnectedByApi',
    );
    // The first disconnect took effect unheard; the retry was refused as already disconnected.
    expect(h.sim.control.counters().disconnectCallback).toMatchObject({ noAnswer: 1, '400': 1 });
  });
});

describe('reschedule', () => {
  it('patches a pending callback on the platform and in the ledger, and answers a repeat unchanged', async () => {
    const cb = await h.accept({ inMs: 10 * MINUTE });
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'), { maxMs: MINUTE });
    const newTime = iso(h.now() + 40 * MINUTE);
    const res = await reschedule(cb.callbackId, { scheduledTime: newTime });
    expect(res).toMatchObject({ ok: true, changed: true });
    if (!res.ok) return;
    expect(res.callback.spec.scheduledTime).toBe(newTime);
    expect(res.callback.status).toBe('pending');
    expect(res.callback.history.at(-1)?.reason?.code).toBe('RESCHEDULED');
    expect(platformTime(cb.callbackId)).toBe(newTime);

    const again = await reschedule(cb.callbackId, { scheduledTime: newTime });
    expect(again).toMatchObject({ ok: true, changed: false });

    // The old time passes without a call; the new one brings it.
    await h.runFor(20 * MINUTE, 10_000);
    expect((await h.get(cb.callbackId)).status).toBe('pending');
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })[0]?.phase).toBe('scheduled');
    await h.runUntil(statusIs(h, cb.callbackId, 'completed'), { maxMs: 30 * MINUTE });
    expect(h.sim.control.conversations({ callbackId: cb.callbackId })).toHaveLength(1);
  });

  it('updates an accepted callback in the ledger so the submit sends the new time', async () => {
    const cb = await h.accept({ inMs: 10 * MINUTE });
    const newTime = iso(h.now() + 25 * MINUTE);
    expect(await reschedule(cb.callbackId, { scheduledTime: newTime })).toMatchObject({
      ok: true,
      callback: { status: 'accepted' },
    });
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'), { maxMs: MINUTE });
    expect(platformTime(cb.callbackId)).toBe(newTime);
  });

  it('patches the platform after the fact when the create was in flight during the reschedule', async () => {
    const cb = await h.accept({ inMs: 10 * MINUTE });
    await h.store.markSubmitInFlight(cb.pk, h.now());
    const created = await h.genesys.createCallback(cb.spec, { tenantId: 'demo' });
    const newTime = iso(h.now() + 25 * MINUTE);
    expect(await reschedule(cb.callbackId, { scheduledTime: newTime })).toMatchObject({ ok: true });
    // The submit records its (old-time) callback.
    const rec = (await h.store.getByPk(cb.pk))!;
    await h.store.transition({
      pk: cb.pk,
      from: ['accepted'],
      to: 'pending',
      reason: null,
      at: h.now(),
      set: { conversationId: created.conversationId, submitInFlightAt: null, attempts: rec.attempts + 1 },
      outbox: [],
    });
    expect(platformTime(cb.callbackId)).toBe(cb.spec.scheduledTime);
    const followup = createJobLoop(
      { store: h.store, clock: h.sim.clock, workerId: 'followups' },
      rescheduleFollowupTask({ store: h.store, genesys: h.genesys, clock: h.sim.clock, policies }),
    );
    h.sim.clock.advanceMs(15_000);
    expect(await followup.runOnce()).toEqual({ jobs: 1, outcomes: { patched: 1 } });
    expect(platformTime(cb.callbackId)).toBe(newTime);
  });

  it('re-validates the new values against the queue policy (400 with the domain codes)', async () => {
    const cb = await h.accept({ inMs: 10 * MINUTE });
    const past = await reschedule(cb.callbackId, { scheduledTime: iso(h.now() - MINUTE) });
    expect(past).toMatchObject({
      ok: false,
      refusal: 'invalid',
      errors: [{ code: 'SCHEDULED_TIME_IN_PAST' }],
    });
    const untrusted = await reschedule(cb.callbackId, { callbackNumber: '+14155550123' });
    expect(untrusted).toMatchObject({
      ok: false,
      refusal: 'invalid',
      errors: [{ code: 'NUMBER_NOT_TRUSTED' }],
    });
    const trusted = await reschedule(cb.callbackId, { callbackNumber: '+14155550199' });
    expect(trusted).toMatchObject({ ok: true, callback: { spec: { callbackNumber: '+14155550199' } } });
  });

  it('refuses a finished callback with INVALID_STATE, and one the platform has started with its reason', async () => {
    const cb = await h.accept({ inMs: 3 * MINUTE });
    // Started: the agent has been offered it and the customer is being dialled.
    await h.runUntil(
      () => h.sim.control.conversations({ callbackId: cb.callbackId })[0]?.phase === 'dialing',
      {
        maxMs: 10 * MINUTE,
      },
    );
    const started = await reschedule(cb.callbackId, { scheduledTime: iso(h.now() + 60 * MINUTE) });
    expect(started).toMatchObject({
      ok: false,
      refusal: 'invalid_state',
      errors: [{ code: 'INVALID_STATE' }],
    });
    if (!started.ok) expect(started.errors[0]?.message).toMatch(/platform refused/);

    await h.runUntil(statusIs(h, cb.callbackId, 'completed'), { maxMs: 10 * MINUTE });
    const done = await reschedule(cb.callbackId, { scheduledTime: iso(h.now() + 60 * MINUTE) });
    expect(done).toMatchObject({ ok: false, refusal: 'invalid_state', errors: [{ code: 'INVALID_STATE' }] });
  });
});
