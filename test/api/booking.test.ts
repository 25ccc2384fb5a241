/**
 * Booking over HTTP (issue 14): slots, per-slot capacity under concurrency, holds, perCustomer.
 * The same suite runs on a SQLite file and, with CALLBACKD_TEST_PG_URL, on PostgreSQL.
 */

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQueuePolicy, type QueuePolicy } from '../../src/domain/policy.js';
import type { Store } from '../../src/ledger/port.js';
import { openPostgresStore } from '../../src/ledger/postgres/index.js';
import { createScheduler } from '../../src/simulator/clock.js';
import { BILLING, demoQueues, guideBody, SUPPORT, startTestApi, T0, type TestApi } from './harness.js';

const BASE = '/api/v2/routing/callbacks';
const BOOKED = 'booked-queue-0001';
const SLOTS = `/api/v2/routing/queues/${BOOKED}/slots`;
const SLOT = '2030-01-07T16:00:00.000Z'; // Monday 11:00 New York

function queues() {
  const q = demoQueues();
  const { name: _name, ...support } = q.get(SUPPORT)!.policy as QueuePolicy & { name?: string };
  q.set(BOOKED, {
    name: 'Booked',
    policy: parseQueuePolicy({
      ...support,
      slots: { minutes: 15, capacity: 3, holdSeconds: 300 },
      closures: [{ date: '2030-01-08', name: 'Offsite' }],
    }),
  });
  return q;
}

const booking = (id: string, over: Record<string, unknown> = {}) =>
  guideBody({ callbackId: id, scheduledTime: SLOT, routingData: { queueId: BOOKED }, ...over });

const codes = (body: { errors?: { code: string }[] }) => (body.errors ?? []).map((e) => e.code);

function bookingSuite(
  name: string,
  openLedger: () => Promise<{ store?: Store; cleanup?: () => Promise<void> }>,
) {
  describe(`booking on ${name}`, () => {
    let api: TestApi;
    let cleanup: (() => Promise<void>) | undefined;
    // Time moves only when the test moves it, like the simulator's clock in every engine test.
    const clock = createScheduler({ startMs: T0, realTime: false, onError: () => {} });

    beforeAll(async () => {
      const ledger = await openLedger();
      cleanup = ledger.cleanup;
      api = await startTestApi({
        queues: queues(),
        routeClock: clock,
        ...(ledger.store ? { store: ledger.store } : {}),
      });
    });
    afterAll(async () => {
      await api?.close();
      await cleanup?.();
    });

    it('books exactly the capacity when 50 requests race for one slot: 3 × 201, 47 × 409 SLOT_FULL', async () => {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => api.call('POST', BASE, { body: booking(`race-${i}`) })),
      );
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(3);
      expect(statuses.filter((s) => s === 409)).toHaveLength(47);
      const full = answers.find((a) => a.status === 409)!;
      expect(codes(full.body)).toEqual(['SLOT_FULL']);
      // The nearest free slots either side, in the problem's alternatives and its message.
      expect(full.body.alternatives.map((a: { start: string }) => a.start)).toEqual([
        '2030-01-07T15:45:00.000Z',
        '2030-01-07T16:15:00.000Z',
      ]);
      expect(full.body.errors[0].message).toContain('2030-01-07T15:45:00.000Z and 2030-01-07T16:15:00.000Z');
      const slots = await api.call('GET', `${SLOTS}?from=2030-01-07T15:30:00Z&to=2030-01-07T16:30:00Z`);
      expect(slots.status).toBe(200);
      expect(
        slots.body.slots.map((s: { start: string; remaining: number }) => [s.start, s.remaining]),
      ).toEqual([
        ['2030-01-07T15:30:00.000Z', 3],
        ['2030-01-07T15:45:00.000Z', 3],
        ['2030-01-07T16:15:00.000Z', 3],
      ]);
    });

    it('a replay of a booked request still answers its 201 when the slot is full', async () => {
      const winner = (await api.call('GET', `${BASE}?queueId=${BOOKED}`)).body.items[0];
      const again = await api.call('POST', BASE, { body: booking(winner.callbackId) });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });

    it('a cancelled callback frees its unit', async () => {
      const winner = (await api.call('GET', `${BASE}?queueId=${BOOKED}&status=accepted`)).body.items[0];
      expect((await api.call('DELETE', `${BASE}/${winner.callbackId}`)).status).toBe(200);
      const next = await api.call('POST', BASE, { body: booking('after-cancel') });
      expect(next.status).toBe(201);
      expect((await api.call('POST', BASE, { body: booking('after-cancel-2') })).status).toBe(409);
    });

    it('a reschedule into a full slot is 409 SLOT_FULL; into a free slot or inside its own slot it moves', async () => {
      // The 16:00 slot is full (three callbacks): moving another one in is refused.
      const mover = await api.call('POST', BASE, {
        body: booking('mover', { scheduledTime: '2030-01-07T16:30:00Z' }),
      });
      expect(mover.status).toBe(201);
      const into = await api.call('PATCH', `${BASE}/mover`, { body: { scheduledTime: SLOT } });
      expect([into.status, codes(into.body)]).toEqual([409, ['SLOT_FULL']]);
      expect(into.body.errors[0].message).toContain('the nearest free slots start at');
      const free = await api.call('PATCH', `${BASE}/mover`, {
        body: { scheduledTime: '2030-01-07T16:45:00Z' },
      });
      expect([free.status, free.body.scheduledTime]).toEqual([200, '2030-01-07T16:45:00.000Z']);
      const inside = await api.call('PATCH', `${BASE}/after-cancel`, {
        body: { scheduledTime: '2030-01-07T16:05:00Z' },
      });
      expect([inside.status, inside.body.scheduledTime]).toEqual([200, '2030-01-07T16:05:00.000Z']);
    });

    it('lists slots with the customer zone, refuses closures, and bounds the window', async () => {
      const res = await api.call(
        'GET',
        `${SLOTS}?from=2030-01-07T23:00:00Z&to=2030-01-09T14:00:00Z&timeZone=Europe/London`,
      );
      expect(res.status).toBe(200);
      expect(res.body.timeZone).toBe('Europe/London');
      // 08:00–21:00 London = 08:00Z–21:00Z; the 8th (New York) is the Offsite closure.
      const starts: string[] = res.body.slots.map((s: { start: string }) => s.start);
      expect(starts[0]).toBe('2030-01-09T08:00:00.000Z');
      expect(res.body.slots[0].localStart).toBe('2030-01-09T08:00:00+00:00');
      expect(starts.some((s) => s.startsWith('2030-01-08'))).toBe(false);
      const tooLong = await api.call('GET', `${SLOTS}?from=2030-01-07T16:00:00Z&to=2030-02-08T16:00:00Z`);
      expect([tooLong.status, codes(tooLong.body)]).toEqual([400, ['INVALID_VALUE']]);
      const unknown = await api.call('GET', '/api/v2/routing/queues/nope/slots');
      expect([unknown.status, codes(unknown.body)]).toEqual([404, ['UNKNOWN_QUEUE']]);
      const closed = await api.call('POST', BASE, {
        body: booking('closed', { scheduledTime: '2030-01-08T16:00:00Z' }),
      });
      expect([closed.status, codes(closed.body)]).toEqual([400, ['QUEUE_CLOSED']]);
    });

    it('a hold reserves a unit until it is used or expires under the clock', async () => {
      const at = '2030-01-07T17:00:00.000Z';
      const held = await Promise.all(
        [1, 2, 3].map(() => api.call('POST', `${SLOTS}/holds`, { body: { start: at } })),
      );
      expect(held.map((h) => h.status)).toEqual([201, 201, 201]);
      expect(held[0]!.body.expiresAt).toBe(new Date(clock.now() + 300_000).toISOString());
      const fourth = await api.call('POST', `${SLOTS}/holds`, { body: { start: at } });
      expect([fourth.status, codes(fourth.body)]).toEqual([409, ['SLOT_FULL']]);
      // Without a hold the slot is full; with one it books.
      const walkIn = await api.call('POST', BASE, { body: booking('walk-in', { scheduledTime: at }) });
      expect(codes(walkIn.body)).toEqual(['SLOT_FULL']);
      const withHold = await api.call('POST', BASE, {
        body: booking('held-1', { scheduledTime: at, slotHoldId: held[0]!.body.holdId }),
      });
      expect(withHold.status).toBe(201);
      const reused = await api.call('POST', BASE, {
        body: booking('held-1b', { scheduledTime: at, slotHoldId: held[0]!.body.holdId }),
      });
      expect([reused.status, codes(reused.body)]).toEqual([400, ['HOLD_NOT_FOUND']]);
      const wrongSlot = await api.call('POST', BASE, {
        body: booking('held-2x', { scheduledTime: '2030-01-07T17:15:00Z', slotHoldId: held[1]!.body.holdId }),
      });
      expect([wrongSlot.status, codes(wrongSlot.body)]).toEqual([400, ['INVALID_VALUE']]);
      // Five minutes on, the other two holds have expired and free their units.
      clock.advanceMs(300_000);
      const late = await api.call('POST', BASE, {
        body: booking('held-2', { scheduledTime: at, slotHoldId: held[1]!.body.holdId }),
      });
      expect([late.status, codes(late.body)]).toEqual([409, ['HOLD_EXPIRED']]);
      const freed = await Promise.all(
        ['free-1', 'free-2', 'free-3'].map((id) =>
          api.call('POST', BASE, { body: booking(id, { scheduledTime: at }) }),
        ),
      );
      expect(freed.map((f) => f.status).sort()).toEqual([201, 201, 409]);
      const other = await api.call('POST', BASE, {
        key: api.keys.other,
        body: booking('other-tenant', {
          scheduledTime: '2030-01-07T17:30:00Z',
          slotHoldId: held[2]!.body.holdId,
        }),
      });
      expect(codes(other.body)).toEqual(['HOLD_NOT_FOUND']);
    });

    it('perCustomer one (demo Billing): a second request is ACTIVE_CALLBACK_EXISTS, replaceActive moves the first', async () => {
      const billing = (id: string, scheduledTime: string, over: Record<string, unknown> = {}) =>
        guideBody({
          callbackId: id,
          scheduledTime,
          callbackFrom: '+18005551235',
          callbackTo: '+18005551235',
          routingData: { queueId: BILLING },
          dtmf: '1',
          ...over,
        });
      const first = await api.call('POST', BASE, { body: billing('bill-1', '2030-01-07T18:00:00Z') });
      expect(first.status).toBe(201);
      const second = await api.call('POST', BASE, { body: billing('bill-2', '2030-01-07T19:00:00Z') });
      expect([second.status, codes(second.body)]).toEqual([409, ['ACTIVE_CALLBACK_EXISTS']]);
      expect(second.body.activeCallbackId).toBe('bill-1');
      expect(second.body.errors[0].message).toContain('"bill-1"');
      const moved = await api.call('POST', BASE, {
        body: billing('bill-2', '2030-01-07T19:00:00Z', { replaceActive: true }),
      });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({ callbackId: 'bill-1', scheduledTime: '2030-01-07T19:00:00.000Z' });
      expect(
        moved.body.history.map((h: { reason: { code: string } | null }) => h.reason?.code ?? null),
      ).toEqual([null, 'RESCHEDULED']);
      expect((await api.call('GET', `${BASE}/bill-2`)).status).toBe(404);
      // Once it is cancelled the customer may book again.
      expect((await api.call('DELETE', `${BASE}/bill-1`)).status).toBe(200);
      expect((await api.call('POST', BASE, { body: billing('bill-3', '2030-01-07T19:00:00Z') })).status).toBe(
        201,
      );
    });

    it('still answers 201 to the guide example body on the demo Support queue', async () => {
      expect((await api.call('POST', BASE, { body: guideBody() })).status).toBe(201);
    });
  });
}

bookingSuite('SQLite', async () => ({}));

const pgUrl = process.env.CALLBACKD_TEST_PG_URL;
if (!pgUrl) {
  describe('booking on PostgreSQL', () => {
    it.skip('skipped: set CALLBACKD_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run it', () => {});
  });
} else {
  bookingSuite('PostgreSQL', async () => {
    const schema = `cbbook_${process.pid}_${Date.now().toString(36)}`;
    const store = openPostgresStore(pgUrl, { schema, poolMax: 10 });
    return {
      store,
      cleanup: async () => {
        const admin = openPostgresStore(pgUrl);
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.kysely);
        await admin.close();
      },
    };
  });
}
