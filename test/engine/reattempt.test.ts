/**
 * The re-attempt ladder against the simulator on its manual clock: an attempt that does not reach
 * the customer gets a new platform callback at the next allowed time, exactly once, until the
 * ladder is used up; cancel and reschedule work between attempts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseQueuePolicy, type QueuePolicy } from '../../src/domain/policy.js';
import { reattemptTransition, unreachedOf } from '../../src/jobs/reattempt.js';
import type { CallbackWithHistory } from '../../src/ledger/port.js';
import { cancelCallback } from '../../src/usecases/cancel.js';
import { rescheduleCallback } from '../../src/usecases/reschedule.js';
import {
  policies as demoPolicies,
  type EngineHarness,
  MINUTE,
  SUPPORT_QUEUE_ID,
  startEngineHarness,
} from './harness.js';

const NO_ANSWER = '+14155550101';
const BUSY = '+14155550103';
const ladder = { attempts: 2, afterMinutes: { noAnswer: 30, busy: 10, voicemail: 60 } };

function withPolicy(extra: Record<string, unknown>): (queueId: string) => QueuePolicy | undefined {
  const { name: _name, ...support } = demoPolicies(SUPPORT_QUEUE_ID) as QueuePolicy & { name?: string };
  const policy = parseQueuePolicy({ ...support, reattempts: ladder, ...extra });
  return (queueId) => (queueId === SUPPORT_QUEUE_ID ? policy : demoPolicies(queueId));
}

const reasons = (cb: CallbackWithHistory) => cb.history.map((h) => `${h.status}:${h.reason?.code ?? '-'}`);
const attemptsOnPlatform = (h: EngineHarness, callbackId: string) =>
  h.sim.control.conversations({ callbackId }).map((c) => ({
    attempt: c.data.callbackdAttempt ?? '1',
    scheduled: c.callbackScheduledTime,
    endReason: c.endReason,
  }));

let h: EngineHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the re-attempt ladder', () => {
  it('no answer: re-attempts 30 minutes after each miss, then expires RETRIES_EXHAUSTED; the CRM hears each', async () => {
    h = await startEngineHarness({ policies: withPolicy({}) });
    const cb = await h.accept({ callbackId: 'ladder-na', callbackNumber: NO_ANSWER });
    await h.runUntil(async () => (await h!.get('ladder-na')).status === 'expired', {
      stepMs: 15_000,
      maxMs: 3 * 60 * MINUTE,
    });
    const done = await h.get('ladder-na');
    expect(done.statusReason?.code).toBe('RETRIES_EXHAUSTED');
    expect(done.statusReason?.message).toContain('not reached in 3 attempts (last: no answer)');
    expect(reasons(done)).toEqual([
      'accepted:-',
      'pending:-',
      'accepted:REATTEMPT_SCHEDULED',
      'pending:-',
      'accepted:REATTEMPT_SCHEDULED',
      'pending:-',
      'expired:RETRIES_EXHAUSTED',
    ]);
    // Each next attempt is 30 minutes after the miss was seen, one platform callback per attempt.
    const scheduled = done.history
      .filter((e) => e.reason?.code === 'REATTEMPT_SCHEDULED')
      .map((e) => new Date(Date.parse(e.at) + 30 * MINUTE).toISOString());
    const platform = attemptsOnPlatform(h, 'ladder-na');
    expect(platform.map((p) => p.attempt)).toEqual(['1', '2', '3']);
    expect(platform.slice(1).map((p) => p.scheduled)).toEqual(scheduled);
    expect(platform.every((p) => p.endReason === 'noAnswer')).toBe(true);
    expect(done.attempts).toBe(3);
    // The CRM hears of every step, re-attempts included.
    const outbox = await h.store.leaseOutbox('webhook', 100, 60_000, h.now());
    const mine = outbox.filter((r) => r.callbackPk === cb.pk).map((r) => JSON.stringify(r.payload));
    expect(mine.filter((p) => p.includes('REATTEMPT_SCHEDULED'))).toHaveLength(2);
    expect(mine.filter((p) => p.includes('RETRIES_EXHAUSTED'))).toHaveLength(1);
  });

  it('busy at 20:55: the next attempt is pushed past the end of the calling window into the next morning, and cancel stops it', async () => {
    h = await startEngineHarness({ policies: withPolicy({}) });
    // 20:55 New York, five minutes before the customer's 21:00 window ends.
    await h.accept({
      callbackId: 'ladder-busy',
      callbackNumber: BUSY,
      inMs: Date.parse('2030-01-16T01:55:00Z') - h.now(),
    });
    await h.round();
    h.sim.clock.advanceTo(Date.parse('2030-01-16T01:54:00Z'));
    await h.runUntil(
      async () =>
        (await h!.get('ladder-busy')).callAttempt === 2 && (await h!.get('ladder-busy')).status === 'pending',
      {
        stepMs: 5_000,
        maxMs: 30 * MINUTE,
      },
    );
    const next = await h.get('ladder-busy');
    // 20:55 + 10 minutes is past 21:00: 08:00 New York the next day.
    expect(next.spec.scheduledTime).toBe('2030-01-16T13:00:00.000Z');
    expect(next.nextAttemptAt).toBe(Date.parse('2030-01-16T13:00:00.000Z'));
    expect(attemptsOnPlatform(h, 'ladder-busy').map((p) => [p.attempt, p.scheduled])).toEqual([
      ['1', '2030-01-16T01:55:00.000Z'],
      ['2', '2030-01-16T13:00:00.000Z'],
    ]);
    const cancelled = await cancelCallback(
      h.store,
      h.genesys,
      { now: () => h!.now() },
      'demo',
      'ladder-busy',
    );
    expect(cancelled.ok).toBe(true);
    h.sim.clock.advanceTo(Date.parse('2030-01-16T13:30:00Z'));
    await h.round();
    expect((await h.get('ladder-busy')).status).toBe('cancelled');
    const platform = attemptsOnPlatform(h, 'ladder-busy');
    expect(platform).toHaveLength(2);
    expect(platform[1]!.endReason).toBe('disconnectedByApi');
  });

  it('no answer before a closure: the next attempt skips closing time, the closure and lands on the next opening; reschedule moves it', async () => {
    const weekdays = {
      timeZone: 'America/New_York',
      weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
    };
    h = await startEngineHarness({
      policies: withPolicy({ openHours: weekdays, closures: [{ date: '2030-01-16', name: 'Offsite' }] }),
    });
    // Tuesday 16:40 New York; the miss is seen about 16:45, +30 minutes is after closing,
    // Wednesday is the Offsite: Thursday 09:00.
    await h.accept({
      callbackId: 'ladder-closure',
      callbackNumber: NO_ANSWER,
      inMs: 3 * 60 * MINUTE + 40 * MINUTE,
    });
    await h.runUntil(
      async () =>
        (await h!.get('ladder-closure')).callAttempt === 2 &&
        (await h!.get('ladder-closure')).status === 'pending',
      {
        stepMs: 15_000,
        maxMs: 5 * 60 * MINUTE,
      },
    );
    const next = await h.get('ladder-closure');
    expect(next.spec.scheduledTime).toBe('2030-01-17T14:00:00.000Z');
    const moved = await rescheduleCallback(
      h.store,
      h.genesys,
      { now: () => h!.now() },
      'demo',
      'ladder-closure',
      { scheduledTime: '2030-01-17T15:00:00Z' },
      { policies: withPolicy({ openHours: weekdays, closures: [{ date: '2030-01-16', name: 'Offsite' }] }) },
    );
    expect(moved.ok).toBe(true);
    const platform = attemptsOnPlatform(h, 'ladder-closure');
    expect(platform.map((p) => [p.attempt, p.scheduled])).toEqual([
      ['1', '2030-01-15T21:40:00.000Z'],
      ['2', '2030-01-17T15:00:00.000Z'],
    ]);
  });

  it('voicemail (from the outcome map’s unreached): 60 minutes later; a cause the queue leaves out keeps its outcome', async () => {
    const policy = withPolicy({})(SUPPORT_QUEUE_ID)!;
    const rec = {
      pk: 1,
      tenantId: 'demo',
      callbackId: 'vm',
      spec: {
        callbackId: 'vm',
        callbackNumber: '+14155552671',
        callbackFrom: '+18005551234',
        callbackTo: '+18005551234',
        scheduledTime: '2030-01-15T18:00:00.000Z',
        timeout: 300,
        routingData: { queueId: SUPPORT_QUEUE_ID, priority: 0 },
        mediaType: 'voice' as const,
        customerData: {},
      },
      fingerprint: 'f',
      status: 'pending' as const,
      statusReason: null,
      conversationId: 'c1',
      attempts: 1,
      nextAttemptAt: null,
      callAttempt: 1,
      submitInFlightAt: null,
      lastCheckedAt: null,
      firstDialedAt: null,
      createdAt: 0,
      updatedAt: 0,
    };
    const at = Date.parse('2030-01-15T18:10:00Z');
    const voicemail = {
      status: 'expired' as const,
      reason: null,
      capacity: false,
      reached: false,
      complete: true,
      rule: 'wrap-up-mapped',
      unreached: 'voicemail' as const,
    };
    expect(unreachedOf(voicemail)).toBe('voicemail');
    const t = reattemptTransition(rec, voicemail, policy, at, []);
    expect(t?.to).toBe('accepted');
    expect(t?.set?.spec?.scheduledTime).toBe('2030-01-15T19:10:00.000Z');
    expect(t?.set?.callAttempt).toBe(2);
    expect(t?.enqueue).toMatchObject({ kind: 'submit', callbackPk: 1 });
    const noVoicemail = { ...policy, reattempts: { attempts: 2, afterMinutes: { noAnswer: 30 } } };
    expect(reattemptTransition(rec, voicemail, noVoicemail, at, [])).toBeUndefined();
    const completed = {
      status: 'completed' as const,
      reason: null,
      capacity: false,
      reached: true,
      complete: true,
      rule: 'talked',
    };
    expect(reattemptTransition(rec, completed, policy, at, [])).toBeUndefined();
  });
});
