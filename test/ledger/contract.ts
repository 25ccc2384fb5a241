/**
 * The store contract: every ledger adapter runs these same tests (sqlite.test.ts, postgres.test.ts).
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { canTransition } from '../../src/domain/lifecycle.js';
import type { CallbackSpec, CallbackStatus } from '../../src/domain/types.js';
import { isLedgerError } from '../../src/ledger/errors.js';
import { runMigrations } from '../../src/ledger/migrator.js';
import type { AcceptInput, OutboxDraft, Store } from '../../src/ledger/port.js';
import { KyselyStore } from '../../src/ledger/store.js';
import { makeSpec } from './fixtures/spec.js';

export { makeSpec };

export interface LedgerTarget {
  /** A migrated store on a ledger no other test uses. */
  fresh(): Promise<Store>;
  /** Another store with its own connection(s) on the same ledger as `of`: a second process's view. */
  sibling(of: Store): Promise<Store>;
}

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

function acceptInput(
  callbackId: string,
  opts: Partial<AcceptInput> & { spec?: CallbackSpec } = {},
): AcceptInput {
  return {
    tenantId: 'tenant-a',
    spec: makeSpec(callbackId),
    fingerprint: `fp-${callbackId}`,
    at: T0,
    outbox: [{ channel: 'webhook', eventType: 'callback.requested', payload: { callbackId } }],
    ...opts,
  };
}

const webhook = (eventType: string, payload: unknown = { eventType }): OutboxDraft => ({
  channel: 'webhook',
  eventType,
  payload,
});

async function acceptOne(store: Store, callbackId: string, opts: Partial<AcceptInput> = {}) {
  const res = await store.accept(acceptInput(callbackId, opts));
  expect(res.outcome).toBe('created');
  return res.callback;
}

/** Takes (leases and marks delivered) every due outbox row of a channel. */
async function takeOutbox(store: Store, channel: 'webhook' | 'amqp' = 'webhook', now = T0 + 10 ** 9) {
  const rows = await store.leaseOutbox(channel, 10_000, 60_000, now);
  for (const r of rows) await store.markDelivered(r.id, now);
  return rows;
}

/** Takes (leases and completes) every due submit job. */
async function takeJobs(store: Store, now = T0 + 10 ** 9) {
  const jobs = await store.leaseJobs('submit', 'inspector', 10_000, 60_000, now);
  for (const j of jobs) await store.completeJob(j.id, 'inspector');
  return jobs;
}

export function storeContract(target: LedgerTarget): void {
  describe('migrations', () => {
    it('running migrate again (also from a second connection at the same time) changes nothing', async () => {
      const store = await target.fresh();
      await acceptOne(store, 'cb-keep');
      const other = await target.sibling(store);
      await Promise.all([store.migrate(), other.migrate(), store.migrate()]);
      expect((await store.get('tenant-a', 'cb-keep'))?.status).toBe('accepted');
      await store.ping();
    });

    const kyselyStore = async () => {
      const store = await target.fresh();
      if (!(store instanceof KyselyStore)) throw new Error('these tests need a Kysely adapter');
      return store;
    };

    it('records every shipped migration, in order', async () => {
      const store = await kyselyStore();
      const applied = await store.appliedMigrations();
      expect(applied.map((m) => m.id)).toEqual(store.dialect.migrations.map((m) => m.id));
      expect(applied.map((m) => m.id)).toEqual([...applied.map((m) => m.id)].sort());
    });

    it('a migration that fails part-way leaves no trace (each runs in one transaction)', async () => {
      const store = await kyselyStore();
      const broken = { id: '9000_broken', up: ['create table half_done (a integer)', 'this is not sql'] };
      const dialect = { ...store.dialect, migrations: [...store.dialect.migrations, broken] };
      await expect(runMigrations(store.kysely, dialect)).rejects.toThrow();
      expect((await store.appliedMigrations()).map((m) => m.id)).not.toContain('9000_broken');
      const fixed = { id: '9000_broken', up: ['create table half_done (a integer)'] };
      // Had the first statement survived, creating the table again would fail here.
      expect(
        await runMigrations(store.kysely, { ...dialect, migrations: [...store.dialect.migrations, fixed] }),
      ).toEqual(['9000_broken']);
      // Leave the ledger as shipped: later tests on a shared ledger migrate it again.
      await store.kysely.deleteFrom('schema_migrations').where('id', '=', '9000_broken').execute();
      await sql`drop table half_done`.execute(store.kysely);
    });

    it('refuses a ledger whose applied migration was edited, or that a newer build migrated', async () => {
      const store = await kyselyStore();
      const [first, ...rest] = store.dialect.migrations;
      if (!first) throw new Error('no migrations');
      const edited = { ...first, up: [...first.up, 'select 1'] };
      const err = await runMigrations(store.kysely, {
        ...store.dialect,
        migrations: [edited, ...rest],
      }).catch((e: unknown) => e);
      expect(isLedgerError(err) && err.code).toBe('LEDGER_MIGRATION_CHANGED');
      const older = { ...store.dialect, migrations: [first] };
      const newer = await runMigrations(store.kysely, older).catch((e: unknown) => e);
      expect(isLedgerError(newer) && newer.code).toBe(rest.length > 0 ? 'LEDGER_SCHEMA_NEWER' : false);
    });
  });

  describe('accept', () => {
    it('creates the callback as accepted with its first history row, outbox rows and a submit job due now', async () => {
      const store = await target.fresh();
      const res = await store.accept(
        acceptInput('cb-1', {
          outbox: [
            webhook('callback.requested', { n: 1 }),
            { channel: 'amqp', eventType: 'callback.accepted', payload: [1] },
          ],
        }),
      );
      expect(res.outcome).toBe('created');
      const cb = res.callback;
      expect(cb).toMatchObject({
        tenantId: 'tenant-a',
        callbackId: 'cb-1',
        status: 'accepted',
        statusReason: null,
        conversationId: null,
        attempts: 0,
        nextAttemptAt: null,
        submitInFlightAt: null,
        createdAt: T0,
        updatedAt: T0,
        fingerprint: 'fp-cb-1',
      });
      expect(cb.spec).toEqual(makeSpec('cb-1'));
      expect(cb.history).toEqual([{ status: 'accepted', at: new Date(T0).toISOString(), reason: null }]);
      expect(await store.get('tenant-a', 'cb-1')).toEqual(cb);
      expect(await store.getByPk(cb.pk)).toEqual(cb);

      expect(await store.leaseJobs('submit', 'w', 10, 1000, T0 - 1)).toEqual([]);
      const jobs = await store.leaseJobs('submit', 'w', 10, 1000, T0);
      expect(jobs).toMatchObject([
        { kind: 'submit', callbackPk: cb.pk, runAt: T0, attempts: 1, lockedBy: 'w' },
      ]);

      const hooks = await takeOutbox(store, 'webhook');
      expect(hooks).toMatchObject([
        {
          channel: 'webhook',
          tenantId: 'tenant-a',
          callbackPk: cb.pk,
          eventType: 'callback.requested',
          payload: { n: 1 },
        },
      ]);
      expect(await takeOutbox(store, 'amqp')).toMatchObject([
        { eventType: 'callback.accepted', payload: [1] },
      ]);
    });

    it('the same callbackId and fingerprint again is replayed with the stored row, writing nothing', async () => {
      const store = await target.fresh();
      const first = await acceptOne(store, 'cb-r');
      const again = await store.accept(acceptInput('cb-r', { at: T0 + 5000 }));
      expect(again.outcome).toBe('replayed');
      expect(again.callback).toEqual(first);
      expect(await takeJobs(store)).toHaveLength(1);
      expect(await takeOutbox(store)).toHaveLength(1);
    });

    it('the same callbackId with another fingerprint is a conflict carrying the stored row', async () => {
      const store = await target.fresh();
      const first = await acceptOne(store, 'cb-c');
      const other = await store.accept(
        acceptInput('cb-c', { fingerprint: 'different', spec: makeSpec('cb-c', { timeout: 120 }) }),
      );
      expect(other.outcome).toBe('conflict');
      expect(other.callback).toEqual(first);
      expect((await store.get('tenant-a', 'cb-c'))?.spec.timeout).toBe(300);
    });

    it('the same callbackId under another tenant is a separate callback', async () => {
      const store = await target.fresh();
      const a = await acceptOne(store, 'cb-t');
      const b = await acceptOne(store, 'cb-t', { tenantId: 'tenant-b' });
      expect(b.pk).not.toBe(a.pk);
      expect((await store.get('tenant-b', 'cb-t'))?.pk).toBe(b.pk);
      expect(await store.get('tenant-c', 'cb-t')).toBeUndefined();
    });

    it('refuses a spec whose scheduledTime is not an instant', async () => {
      const store = await target.fresh();
      const err = await store
        .accept(acceptInput('cb-bad', { spec: makeSpec('cb-bad', { scheduledTime: 'tomorrow' }) }))
        .catch((e: unknown) => e);
      expect(isLedgerError(err) && err.code).toBe('LEDGER_INVALID_SPEC');
      expect(await store.get('tenant-a', 'cb-bad')).toBeUndefined();
    });

    it('accepts arriving together are answered one by one: a bad one fails alone, the others commit', async () => {
      const store = await target.fresh();
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          store.accept(
            acceptInput(
              `cb-batch-${i}`,
              i === 3 ? { spec: makeSpec(`cb-batch-${i}`, { scheduledTime: 'soon' }) } : {},
            ),
          ),
        ),
      );
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value.outcome : 'failed'))).toEqual([
        'created',
        'created',
        'created',
        'failed',
        'created',
        'created',
      ]);
      const stored = (await store.list('tenant-a', {}, null, 10)).items.map((c) => c.callbackId);
      expect(stored.sort()).toEqual([0, 1, 2, 4, 5].map((i) => `cb-batch-${i}`));
      expect(await takeJobs(store)).toHaveLength(5);
    });

    it('50 identical accepts at once (over two connections) make one row and one job; 49 are replays', async () => {
      const store = await target.fresh();
      const other = await target.sibling(store);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? other : store).accept(acceptInput('cb-race'))),
      );
      const outcomes = results.map((r) => r.outcome);
      expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'replayed')).toHaveLength(49);
      const pks = new Set(results.map((r) => r.callback.pk));
      expect(pks.size).toBe(1);
      expect((await store.list('tenant-a', {}, null, 100)).items).toHaveLength(1);
      expect(await takeJobs(store)).toHaveLength(1);
      expect(await takeOutbox(store)).toHaveLength(1);
      expect((await store.get('tenant-a', 'cb-race'))?.history).toHaveLength(1);
    });

    it('racing accepts of one id with different parameters: one wins, every other is replayed or a conflict by its own fingerprint', async () => {
      const store = await target.fresh();
      const other = await target.sibling(store);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? other : store).accept(acceptInput('cb-mixed', { fingerprint: `fp-${i % 3}` })),
        ),
      );
      const created = results.filter((r) => r.outcome === 'created');
      expect(created).toHaveLength(1);
      const winner = created[0]?.callback.fingerprint;
      results.forEach((r, i) => {
        if (r.outcome === 'created') return;
        expect(r.outcome).toBe(`fp-${i % 3}` === winner ? 'replayed' : 'conflict');
      });
      expect(await takeJobs(store)).toHaveLength(1);
    });
  });

  describe('transition', () => {
    it('applies the change with its history row, outbox rows and job in one step', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-tr');
      await takeOutbox(store); // consume the accept's row
      const updated = await store.transition({
        pk: cb.pk,
        from: ['accepted'],
        to: 'pending',
        reason: null,
        at: T0 + 1000,
        set: { conversationId: 'conv-1', attempts: 1, submitInFlightAt: null },
        outbox: [webhook('callback.scheduled', { status: 'Scheduled' })],
      });
      expect(updated).toMatchObject({
        status: 'pending',
        conversationId: 'conv-1',
        attempts: 1,
        updatedAt: T0 + 1000,
      });
      const stored = await store.getByPk(cb.pk);
      expect(stored?.history.map((h) => h.status)).toEqual(['accepted', 'pending']);
      expect(stored?.history[1]?.at).toBe(new Date(T0 + 1000).toISOString());
      const rows = await takeOutbox(store, 'webhook', T0 + 2000);
      expect(rows).toMatchObject([
        { eventType: 'callback.scheduled', payload: { status: 'Scheduled' }, createdAt: T0 + 1000 },
      ]);
    });

    it('does nothing and returns null when the row is not in a `from` state', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-guard');
      await takeOutbox(store);
      await takeJobs(store);
      const res = await store.transition({
        pk: cb.pk,
        from: ['pending'],
        to: 'completed',
        reason: { code: 'CONNECTED', message: 'x' },
        at: T0 + 1000,
        outbox: [webhook('callback.completed')],
        enqueue: { kind: 'submit', callbackPk: cb.pk, runAt: T0 },
      });
      expect(res).toBeNull();
      const stored = await store.getByPk(cb.pk);
      expect(stored).toEqual(await store.get('tenant-a', 'cb-guard'));
      expect(stored?.status).toBe('accepted');
      expect(stored?.updatedAt).toBe(T0);
      expect(stored?.history).toHaveLength(1);
      expect(await takeOutbox(store, 'webhook', T0 + 10 ** 10)).toEqual([]);
      expect(await takeJobs(store, T0 + 10 ** 10)).toEqual([]);
      expect(
        await store.transition({
          pk: 999_999,
          from: ['accepted'],
          to: 'pending',
          reason: null,
          at: T0,
          outbox: [],
        }),
      ).toBeNull();
    });

    it('writes nothing at all when any part of the transition fails (the status change rolls back)', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-atomic');
      await takeOutbox(store);
      const err = await store
        .transition({
          pk: cb.pk,
          from: ['accepted'],
          to: 'pending',
          reason: null,
          at: T0 + 1000,
          set: { conversationId: 'conv-x' },
          outbox: [webhook('callback.scheduled')],
          // Last statement of the transaction; violates the jobs → callbacks foreign key.
          enqueue: { kind: 'submit', callbackPk: 987_654, runAt: T0 },
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      const stored = await store.getByPk(cb.pk);
      expect(stored).toMatchObject({ status: 'accepted', conversationId: null, updatedAt: T0 });
      expect(stored?.history).toHaveLength(1);
      expect(await takeOutbox(store, 'webhook', T0 + 10 ** 10)).toEqual([]);
    });

    it('writes history for a field-only update only when it carries a reason, keeping the old reason otherwise', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-same');
      const deferred = await store.update({
        pk: cb.pk,
        from: ['accepted'],
        reason: { code: 'CAPACITY_DEFERRED', message: 'queue full' },
        at: T0 + 10,
        set: { nextAttemptAt: T0 + 60_000 },
        outbox: [],
      });
      expect(deferred).toMatchObject({
        status: 'accepted',
        nextAttemptAt: T0 + 60_000,
        statusReason: { code: 'CAPACITY_DEFERRED', message: 'queue full' },
      });
      const quiet = await store.update({
        pk: cb.pk,
        from: ['accepted'],
        reason: null,
        at: T0 + 20,
        set: { nextAttemptAt: null },
        outbox: [],
      });
      expect(quiet).toMatchObject({ nextAttemptAt: null, statusReason: { code: 'CAPACITY_DEFERRED' } });
      const history = (await store.getByPk(cb.pk))?.history ?? [];
      expect(history.map((h) => [h.status, h.reason?.code ?? null])).toEqual([
        ['accepted', null],
        ['accepted', 'CAPACITY_DEFERRED'],
      ]);
      const moved = await store.transition({
        pk: cb.pk,
        from: ['accepted'],
        to: 'pending',
        reason: null,
        at: T0 + 30,
        outbox: [],
      });
      expect(moved?.statusReason).toBeNull();
    });

    it('updating the spec moves the queue and scheduled time the list filters see', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-move');
      const spec = makeSpec('cb-move', {
        scheduledTime: '2030-03-01T12:00:00.000Z',
        routingData: { queueId: 'queue-overflow', priority: 5 },
      });
      await store.update({
        pk: cb.pk,
        from: ['accepted', 'pending'],
        reason: { code: 'OVERFLOW_ROUTED', message: 'routed to overflow' },
        at: T0 + 1,
        set: { spec },
        outbox: [],
      });
      expect((await store.getByPk(cb.pk))?.spec).toEqual(spec);
      expect(
        (await store.list('tenant-a', { queueId: 'queue-overflow' }, null, 10)).items.map((c) => c.pk),
      ).toEqual([cb.pk]);
      expect((await store.list('tenant-a', { queueId: 'queue-support' }, null, 10)).items).toEqual([]);
      const march = Date.parse('2030-03-01T00:00:00.000Z');
      expect((await store.list('tenant-a', { scheduledFrom: march }, null, 10)).items).toHaveLength(1);
    });

    it('refuses every status change the lifecycle forbids (canTransition), writing nothing', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-lifecycle');
      await takeOutbox(store);
      const statuses: CallbackStatus[] = [
        'accepted',
        'pending',
        'completed',
        'expired',
        'rejected',
        'cancelled',
      ];
      for (const from of ['accepted', 'pending'] as CallbackStatus[]) {
        for (const to of statuses) {
          if (canTransition(from, to)) continue;
          const err = await store
            .transition({ pk: cb.pk, from: [from], to, reason: null, at: T0 + 1, outbox: [webhook('x')] })
            .catch((e: unknown) => e);
          expect(isLedgerError(err) && err.code, `${from} → ${to}`).toBe('LEDGER_FORBIDDEN_TRANSITION');
        }
      }
      // One forbidden pair in a guard refuses the whole change (accepted → completed skips pending).
      const mixed = await store
        .transition({
          pk: cb.pk,
          from: ['accepted', 'pending'],
          to: 'completed',
          reason: null,
          at: T0 + 1,
          outbox: [],
        })
        .catch((e: unknown) => e);
      expect(isLedgerError(mixed) && mixed.code).toBe('LEDGER_FORBIDDEN_TRANSITION');
      const stored = await store.getByPk(cb.pk);
      expect(stored).toMatchObject({ status: 'accepted', updatedAt: T0 });
      expect(stored?.history).toHaveLength(1);
      expect(await takeOutbox(store, 'webhook', T0 + 10 ** 10)).toEqual([]);
    });

    it('terminal states never change: a terminal `from` is refused outright, and guards never match a terminal row', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-term');
      await store.transition({
        pk: cb.pk,
        from: ['accepted', 'pending'],
        to: 'cancelled',
        reason: { code: 'CANCELLED_BY_USER', message: 'cancelled' },
        at: T0 + 1,
        outbox: [],
      });
      for (const terminal of ['completed', 'expired', 'rejected', 'cancelled'] as CallbackStatus[]) {
        const err = await store
          .transition({ pk: cb.pk, from: [terminal], to: 'pending', reason: null, at: T0 + 2, outbox: [] })
          .catch((e: unknown) => e);
        expect(isLedgerError(err) && err.code).toBe('LEDGER_TERMINAL_STATE');
      }
      const emptyGuard = await store
        .transition({ pk: cb.pk, from: [], to: 'pending', reason: null, at: T0 + 2, outbox: [] })
        .catch((e: unknown) => e);
      expect(isLedgerError(emptyGuard) && emptyGuard.code).toBe('LEDGER_EMPTY_GUARD');
      for (const [from, to] of [
        ['accepted', 'pending'],
        ['pending', 'accepted'],
        ['pending', 'completed'],
      ] as [CallbackStatus, CallbackStatus][]) {
        expect(
          await store.transition({ pk: cb.pk, from: [from], to, reason: null, at: T0 + 3, outbox: [] }),
        ).toBeNull();
      }
      expect(
        await store.update({
          pk: cb.pk,
          from: ['accepted', 'pending'],
          reason: null,
          at: T0 + 3,
          outbox: [],
        }),
      ).toBeNull();
      expect(await store.markSubmitInFlight(cb.pk, T0 + 4)).toBe(false);
      const stored = await store.getByPk(cb.pk);
      expect(stored).toMatchObject({ status: 'cancelled', updatedAt: T0 + 1, submitInFlightAt: null });
      expect(stored?.history.map((h) => h.status)).toEqual(['accepted', 'cancelled']);
    });

    it('of two racing transitions from the same state exactly one applies', async () => {
      const store = await target.fresh();
      const other = await target.sibling(store);
      const cbs = await Promise.all(Array.from({ length: 10 }, (_, i) => acceptOne(store, `cb-duel-${i}`)));
      for (const cb of cbs) {
        const [a, b] = await Promise.all([
          store.transition({
            pk: cb.pk,
            from: ['accepted'],
            to: 'pending',
            reason: null,
            at: T0 + 1,
            set: { conversationId: 'c' },
            outbox: [webhook('scheduled')],
          }),
          other.transition({
            pk: cb.pk,
            from: ['accepted'],
            to: 'cancelled',
            reason: { code: 'CANCELLED_BY_USER', message: 'x' },
            at: T0 + 1,
            outbox: [webhook('cancelled')],
          }),
        ]);
        expect([a, b].filter((r) => r !== null)).toHaveLength(1);
        const stored = await store.getByPk(cb.pk);
        expect(stored?.history).toHaveLength(2);
        expect(stored?.status).toBe((a ?? b)?.status);
      }
      // One outbox row per applied transition, plus one per accept.
      expect(await takeOutbox(store)).toHaveLength(20);
    });

    it('a transition racing with itself applies once and writes one history row', async () => {
      const store = await target.fresh();
      const other = await target.sibling(store);
      const cb = await acceptOne(store, 'cb-twice');
      // (A guard naming the target status too, e.g. accepted|pending → pending, is a change the
      // lifecycle forbids since pending → pending is none: see the canTransition test above.)
      const input = {
        pk: cb.pk,
        from: ['accepted'] as CallbackStatus[],
        to: 'pending' as const,
        reason: null,
        at: T0 + 1,
        outbox: [],
      };
      const results = await Promise.all([
        store.transition(input),
        other.transition(input),
        store.transition(input),
      ]);
      expect(results.filter((r) => r?.status === 'pending')).toHaveLength(1);
      expect(results.filter((r) => r === null)).toHaveLength(2);
      expect((await store.getByPk(cb.pk))?.history.map((h) => h.status)).toEqual(['accepted', 'pending']);
    });
  });

  describe('submit bookkeeping', () => {
    it('markSubmitInFlight sets the time only while accepted; a transition clears it', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-flight');
      expect(await store.markSubmitInFlight(cb.pk, T0 + 5)).toBe(true);
      expect((await store.getByPk(cb.pk))?.submitInFlightAt).toBe(T0 + 5);
      await store.transition({
        pk: cb.pk,
        from: ['accepted'],
        to: 'pending',
        reason: null,
        at: T0 + 6,
        set: { submitInFlightAt: null, conversationId: 'conv' },
        outbox: [],
      });
      expect((await store.getByPk(cb.pk))?.submitInFlightAt).toBeNull();
      expect(await store.markSubmitInFlight(cb.pk, T0 + 7)).toBe(false);
      expect(await store.markSubmitInFlight(424_242, T0 + 7)).toBe(false);
    });
  });

  describe('jobs', () => {
    it('two workers leasing at once never get the same job, and together get them all', async () => {
      const store = await target.fresh();
      const other = await target.sibling(store);
      await Promise.all(Array.from({ length: 30 }, (_, i) => acceptOne(store, `cb-job-${i}`)));
      const leases = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? other : store).leaseJobs('submit', `w${i}`, 7, 60_000, T0),
        ),
      );
      const ids = leases.flat().map((j) => j.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(30);
      expect(leases.every((l) => l.length <= 7)).toBe(true);
      expect(leases.flat().every((j) => j.attempts === 1)).toBe(true);
      expect(await store.leaseJobs('submit', 'late', 100, 60_000, T0 + 1)).toEqual([]);
    });

    it('leases at most `limit` jobs, the earliest due first', async () => {
      const store = await target.fresh();
      const a = await acceptOne(store, 'cb-l1', { at: T0 + 2 });
      const b = await acceptOne(store, 'cb-l2', { at: T0 + 1 });
      await acceptOne(store, 'cb-l3', { at: T0 + 3 });
      const leased = await store.leaseJobs('submit', 'w', 2, 1000, T0 + 10);
      expect(leased.map((j) => j.callbackPk)).toEqual([b.pk, a.pk]);
    });

    it('an expired lease is leased again (attempts counted); the old holder can no longer finish it', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-exp');
      const [first] = await store.leaseJobs('submit', 'w1', 10, 1000, T0);
      expect(first).toMatchObject({ callbackPk: cb.pk, lockedBy: 'w1', lockedUntil: T0 + 1000, attempts: 1 });
      expect(await store.leaseJobs('submit', 'w2', 10, 1000, T0 + 999)).toEqual([]);
      const [second] = await store.leaseJobs('submit', 'w2', 10, 1000, T0 + 1000);
      expect(second).toMatchObject({ id: first?.id, lockedBy: 'w2', attempts: 2 });
      await store.completeJob(first?.id ?? -1, 'w1'); // stale holder: no effect
      expect(await store.leaseJobs('submit', 'w3', 10, 1000, T0 + 2000)).toHaveLength(1);
    });

    it('complete removes the job; retry reschedules it with the error; release frees a worker’s leases', async () => {
      const store = await target.fresh();
      await acceptOne(store, 'cb-j1');
      await acceptOne(store, 'cb-j2');
      await acceptOne(store, 'cb-j3');
      const [a, b, c] = await store.leaseJobs('submit', 'w', 3, 60_000, T0);
      if (!a || !b || !c) throw new Error('expected three jobs');
      await store.completeJob(a.id, 'w');
      await store.retryJob(b.id, 'w', T0 + 5000, 'platform said 503');
      await store.releaseLeases('w');
      expect((await store.leaseJobs('submit', 'x', 10, 60_000, T0 + 1)).map((j) => j.id)).toEqual([c.id]);
      const retried = await store.leaseJobs('submit', 'x', 10, 60_000, T0 + 5000);
      expect(retried).toMatchObject([
        { id: b.id, runAt: T0 + 5000, lastError: 'platform said 503', attempts: 2 },
      ]);
    });

    it('enqueueJob and a transition’s job carry their kind, time and payload', async () => {
      const store = await target.fresh();
      const cb = await acceptOne(store, 'cb-kind');
      await store.enqueueJob({ kind: 'cancel', callbackPk: cb.pk, runAt: T0 + 10, payload: { why: 'user' } });
      await store.update({
        pk: cb.pk,
        from: ['accepted'],
        reason: { code: 'RESCHEDULED', message: 'moved' },
        at: T0 + 11,
        outbox: [],
        enqueue: { kind: 'reschedule', callbackPk: cb.pk, runAt: T0 + 20 },
      });
      expect(await store.leaseJobs('cancel', 'w', 10, 1000, T0 + 9)).toEqual([]);
      expect(await store.leaseJobs('cancel', 'w', 10, 1000, T0 + 10)).toMatchObject([
        { kind: 'cancel', payload: { why: 'user' } },
      ]);
      expect(await store.leaseJobs('reschedule', 'w', 10, 1000, T0 + 20)).toMatchObject([
        { kind: 'reschedule', runAt: T0 + 20, payload: undefined },
      ]);
    });
  });

  describe('outbox', () => {
    it('leases due rows once per lease, and delivered rows never again', async () => {
      const store = await target.fresh();
      await acceptOne(store, 'cb-o1');
      await acceptOne(store, 'cb-o2', { at: T0 + 1 });
      expect(await store.leaseOutbox('webhook', 10, 1000, T0 - 1)).toEqual([]);
      await acceptOne(store, 'cb-o0', { at: T0 + 1 });
      const first = await store.leaseOutbox('webhook', 1, 1000, T0 + 1);
      expect(first).toHaveLength(1);
      expect(first[0]?.attempts).toBe(1);
      const second = await store.leaseOutbox('webhook', 10, 1000, T0 + 1);
      expect(second.map((r) => r.id)).not.toContain(first[0]?.id);
      expect(second).toHaveLength(2);
      await store.markDelivered(first[0]?.id ?? '', T0 + 2);
      const again = await store.leaseOutbox('webhook', 10, 1000, T0 + 5000);
      expect(again.map((r) => r.id).sort()).toEqual(second.map((r) => r.id).sort());
      expect(again.every((r) => r.attempts === 2)).toBe(true);
      expect(await store.leaseOutbox('amqp', 10, 1000, T0 + 5000)).toEqual([]);
    });

    it('a failed delivery waits for its next attempt; a dead one is listed and never leased', async () => {
      const store = await target.fresh();
      await acceptOne(store, 'cb-o3', {
        outbox: [{ id: 'evt-fixed', channel: 'webhook', eventType: 'x', payload: 'text' }],
      });
      const [row] = await store.leaseOutbox('webhook', 10, 1000, T0);
      expect(row).toMatchObject({ id: 'evt-fixed', payload: 'text' });
      await store.markDeliveryFailed('evt-fixed', T0 + 30_000, 'HTTP 500');
      expect(await store.leaseOutbox('webhook', 10, 1000, T0 + 29_999)).toEqual([]);
      const [retry] = await store.leaseOutbox('webhook', 10, 1000, T0 + 30_000);
      expect(retry).toMatchObject({ attempts: 2, lastError: 'HTTP 500', nextAttemptAt: T0 + 30_000 });
      await store.markDead('evt-fixed', T0 + 31_000, 'gave up after 2 attempts');
      expect(await store.leaseOutbox('webhook', 10, 0, T0 + 10 ** 9)).toEqual([]);
      expect(await store.listDead(10)).toMatchObject([
        { id: 'evt-fixed', deadAt: T0 + 31_000, lastError: 'gave up after 2 attempts', deliveredAt: null },
      ]);
      await store.markDelivered('evt-fixed', T0 + 32_000); // a dead row stays dead
      expect((await store.listDead(10))[0]?.deliveredAt).toBeNull();
    });
  });

  describe('API keys', () => {
    it('creates, finds by hash, lists per tenant and revokes once', async () => {
      const store = await target.fresh();
      const key = {
        id: 'key-1',
        tenantId: 'tenant-a',
        name: 'web',
        hash: 'a'.repeat(64),
        scopes: ['routing:callback:create', 'routing:callback:view'] as const,
        createdAt: T0,
        revokedAt: null,
      };
      await store.createApiKey({ ...key, scopes: [...key.scopes] });
      await store.createApiKey({
        ...key,
        id: 'key-2',
        tenantId: 'tenant-b',
        hash: 'b'.repeat(64),
        scopes: [],
      });
      expect(await store.findApiKeyByHash('a'.repeat(64))).toEqual({ ...key, scopes: [...key.scopes] });
      expect(await store.findApiKeyByHash('c'.repeat(64))).toBeUndefined();
      expect((await store.listApiKeys('tenant-a')).map((k) => k.id)).toEqual(['key-1']);
      expect((await store.listApiKeys()).map((k) => k.id)).toEqual(['key-1', 'key-2']);
      await expect(store.createApiKey({ ...key, id: 'key-3', scopes: [] })).rejects.toThrow();
      expect(await store.revokeApiKey('key-1', T0 + 1)).toBe(true);
      expect(await store.revokeApiKey('key-1', T0 + 2)).toBe(false);
      expect(await store.revokeApiKey('nope', T0 + 2)).toBe(false);
      expect((await store.findApiKeyByHash('a'.repeat(64)))?.revokedAt).toBe(T0 + 1);
    });
  });

  describe('listing', () => {
    it('pages by pk with a cursor and filters by status, queue and scheduled range, within the tenant', async () => {
      const store = await target.fresh();
      const day = 86_400_000;
      const pks: number[] = [];
      for (let i = 0; i < 25; i++) {
        const cb = await acceptOne(store, `cb-list-${i}`, {
          spec: makeSpec(`cb-list-${i}`, {
            scheduledTime: new Date(T0 + (i + 1) * day).toISOString(),
            routingData: { queueId: i % 2 ? 'queue-odd' : 'queue-even', priority: 5 },
          }),
        });
        pks.push(cb.pk);
        if (i % 5 === 0) {
          await store.transition({
            pk: cb.pk,
            from: ['accepted'],
            to: 'pending',
            reason: null,
            at: T0,
            outbox: [],
          });
        }
      }
      await acceptOne(store, 'cb-list-other-tenant', { tenantId: 'tenant-b' });

      const seen: number[] = [];
      let cursor: number | null = null;
      let pages = 0;
      do {
        const page = await store.list('tenant-a', {}, cursor, 10);
        seen.push(...page.items.map((c) => c.pk));
        cursor = page.nextAfterPk;
        pages++;
      } while (cursor !== null);
      expect(seen).toEqual(pks);
      expect(pages).toBe(3);
      const exact = await store.list('tenant-a', {}, null, 25);
      expect(exact.nextAfterPk).toBeNull();

      const pending = await store.list('tenant-a', { status: 'pending' }, null, 100);
      expect(pending.items.map((c) => c.callbackId)).toEqual([0, 5, 10, 15, 20].map((i) => `cb-list-${i}`));
      const odd = await store.list('tenant-a', { queueId: 'queue-odd' }, null, 5);
      expect(odd.items.map((c) => c.callbackId)).toEqual([1, 3, 5, 7, 9].map((i) => `cb-list-${i}`));
      expect(odd.nextAfterPk).toBe(odd.items.at(-1)?.pk);
      const range = await store.list(
        'tenant-a',
        { scheduledFrom: T0 + 3 * day, scheduledTo: T0 + 6 * day },
        null,
        100,
      );
      expect(range.items.map((c) => c.callbackId)).toEqual([2, 3, 4].map((i) => `cb-list-${i}`));
      const combined = await store.list(
        'tenant-a',
        { status: 'accepted', queueId: 'queue-even', scheduledFrom: T0 + 5 * day },
        pks[6] ?? null,
        100,
      );
      expect(combined.items.map((c) => c.callbackId)).toEqual(
        [8, 12, 14, 16, 18, 22, 24].map((i) => `cb-list-${i}`),
      );
      expect((await store.list('tenant-b', {}, null, 100)).items).toHaveLength(1);
    });

    it('listNonTerminal pages over open callbacks only', async () => {
      const store = await target.fresh();
      const open: number[] = [];
      for (let i = 0; i < 7; i++) {
        const cb = await acceptOne(store, `cb-open-${i}`);
        if (i % 3 === 0) {
          await store.transition({
            pk: cb.pk,
            from: ['accepted'],
            to: 'rejected',
            reason: { code: 'X', message: 'x' },
            at: T0,
            outbox: [],
          });
        } else open.push(cb.pk);
      }
      const first = await store.listNonTerminal(null, 3);
      expect(first.items.map((c) => c.pk)).toEqual(open.slice(0, 3));
      const second = await store.listNonTerminal(first.nextAfterPk, 3);
      expect(second.items.map((c) => c.pk)).toEqual(open.slice(3));
      expect(second.nextAfterPk).toBeNull();
    });

    it('listTrackable returns open callbacks with a conversation that are due or recently changed, least recently checked first', async () => {
      const store = await target.fresh();
      const hour = 3_600_000;
      const make = async (
        id: string,
        scheduledOffset: number,
        changedAt: number,
        conversation: string | null,
      ) => {
        const cb = await acceptOne(store, id, {
          spec: makeSpec(id, { scheduledTime: new Date(T0 + scheduledOffset).toISOString() }),
        });
        const change = {
          pk: cb.pk,
          from: ['accepted'] as CallbackStatus[],
          at: changedAt,
          set: { conversationId: conversation },
          outbox: [],
        };
        await (conversation
          ? store.transition({ ...change, to: 'pending', reason: null })
          : store.update({ ...change, reason: { code: 'DEFERRED', message: 'x' } }));
        return cb.pk;
      };
      const due = await make('cb-due', -hour, T0 - 2 * hour, 'c1');
      const fresh = await make('cb-fresh', 5 * hour, T0 - 1000, 'c2');
      await make('cb-quiet', 5 * hour, T0 - 2 * hour, 'c3'); // not due, not recently changed
      await make('cb-noconv', -hour, T0 - 1000, null); // nothing to poll yet
      const done = await make('cb-done', -hour, T0 - 1000, 'c5');
      await store.transition({
        pk: done,
        from: ['pending'],
        to: 'completed',
        reason: null,
        at: T0 - 500,
        outbox: [],
      });

      const now = T0;
      expect((await store.listTrackable(now, now - 60_000, 10)).map((c) => c.pk)).toEqual([due, fresh]);
      await store.recordChecked([due], now);
      const after = await store.listTrackable(now, now - 60_000, 10);
      expect(after.map((c) => c.pk)).toEqual([fresh, due]);
      expect(after[1]?.lastCheckedAt).toBe(now);
      expect((await store.listTrackable(now, now - 60_000, 1)).map((c) => c.pk)).toEqual([fresh]);
      await store.recordChecked([], now);
    });
  });
}
