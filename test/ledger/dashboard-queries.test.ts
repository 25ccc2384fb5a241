/** The dashboard's ledger queries on both dialects: a SQLite file and PostgreSQL (own schema). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { CallbackStatus } from '../../src/domain/types.js';
import {
  countByQueueAndStatus,
  type DashboardLedger,
  endSession,
  findSessionKey,
  insertSession,
  listDeadLetters,
  openPerSlot,
  outcomeGroups,
  retryDeadLetter,
  searchCallbacks,
  transitionsAfter,
} from '../../src/ledger/dashboard-queries.js';
import { openPostgresStore, openSqliteStore } from '../../src/ledger/index.js';
import type { KyselyStore } from '../../src/ledger/store.js';
import { makeSpec } from './fixtures/spec.js';

const T = Date.parse('2030-01-02T16:00:00.000Z');
const pgUrl = process.env.CALLBACKD_TEST_PG_URL;
const schema = `cbdash_${process.pid}_${Date.now().toString(36)}`;
const tmp = mkdtempSync(join(tmpdir(), 'callbackd-dashq-'));

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  if (!pgUrl) return;
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
});

const dialects: [string, () => KyselyStore][] = [
  ['SQLite', () => openSqliteStore(join(tmp, 'ledger.db'))],
  ...(pgUrl
    ? [['PostgreSQL', () => openPostgresStore(pgUrl, { schema })] as [string, () => KyselyStore]]
    : []),
];

describe.each(dialects)('dashboard queries on %s', (_name, open) => {
  it('answers sessions, counts, slots, outcomes, search, transitions and dead-letter retry', async () => {
    const store = open();
    try {
      await store.migrate();
      const l: DashboardLedger = { db: store.kysely, dialect: store.dialect };
      const add = async (id: string, at: number, status: CallbackStatus, ext = 'CRM-1', queue = 'q1') => {
        const r = await store.accept({
          tenantId: 't1',
          spec: makeSpec(id, {
            scheduledTime: new Date(at).toISOString(),
            routingData: { queueId: queue, priority: 5 },
            customerData: { externalId: ext },
          }),
          fingerprint: id,
          at: T - 3_600_000,
          outbox: [{ channel: 'webhook', eventType: 'callback.accepted', payload: { id } }],
        });
        let from: CallbackStatus = 'accepted';
        for (const to of status === 'accepted'
          ? []
          : status === 'pending'
            ? ['pending']
            : ['pending', status]) {
          await store.transition({
            pk: r.callback.pk,
            from: [from],
            to: to as CallbackStatus,
            reason: to === 'expired' ? { code: 'NO_ANSWER', message: 'm' } : null,
            at: T,
            set: to === 'pending' ? { conversationId: `c-${id}`, attempts: 2 } : {},
            outbox: [],
          });
          from = to as CallbackStatus;
        }
        return r.callback.pk;
      };
      const before = await transitionsAfter(l, 't1', 0, 500);
      expect(before).toEqual([]);
      await add('a', T, 'completed');
      await add('b', T + 20 * 60_000, 'expired', 'CRM-2');
      await add('c', T + 20 * 60_000, 'pending', 'CRM-2');
      const dPk = await add('d', T + 40 * 60_000, 'accepted', 'CRM-3', 'q2');

      expect(
        (await countByQueueAndStatus(l, 't1', null)).sort((x, y) => x.status.localeCompare(y.status)),
      ).toEqual([
        { queueId: 'q2', status: 'accepted', count: 1 },
        { queueId: 'q1', status: 'completed', count: 1 },
        { queueId: 'q1', status: 'expired', count: 1 },
        { queueId: 'q1', status: 'pending', count: 1 },
      ]);
      expect(await openPerSlot(l, 't1', T, T + 3_600_000)).toEqual(
        expect.arrayContaining([
          { queueId: 'q1', slotStart: T + 15 * 60_000, count: 1 },
          { queueId: 'q2', slotStart: T + 30 * 60_000, count: 1 },
        ]),
      );
      const groups = await outcomeGroups(l, 't1', 'q1', T, T + 3_600_000, 5 * 60_000, T + 30 * 60_000);
      expect(groups.find((g) => g.status === 'completed')).toMatchObject({
        slotStart: T,
        count: 1,
        attempts: 2,
        due: 1,
      });
      expect(groups.find((g) => g.status === 'expired')).toMatchObject({ reasonCode: 'NO_ANSWER', due: 1 });
      expect(groups.find((g) => g.status === 'pending')).toMatchObject({ due: 1 });

      const byCustomer = await searchCallbacks(
        l,
        't1',
        { externalId: 'CRM-2' },
        { key: 'callbackId', descending: true },
        0,
        10,
      );
      expect(byCustomer.total).toBe(2);
      expect(byCustomer.items.map((r) => r.callbackId)).toEqual(['c', 'b']);
      expect(
        (await searchCallbacks(l, 't2', {}, { key: 'scheduledTime', descending: false }, 0, 10)).total,
      ).toBe(0);

      const transitions = await transitionsAfter(l, 't1', 0, 500);
      expect(transitions.map((t) => `${t.callbackId}:${t.status}`)).toEqual([
        'a:accepted',
        'a:pending',
        'a:completed',
        'b:accepted',
        'b:pending',
        'b:expired',
        'c:accepted',
        'c:pending',
        'd:accepted',
      ]);
      expect(await transitionsAfter(l, 'other', 0, 500)).toEqual([]);
      const third = transitions[2]!.id;
      expect((await transitionsAfter(l, 't1', third, 500))[0]!.callbackId).toBe('b');

      // Sessions: found while the key is live, gone once the session ends.
      await store.createApiKey({
        id: 'k1',
        tenantId: 't1',
        name: 'sup',
        hash: 'h'.repeat(64),
        scopes: ['routing:callback:view'],
        createdAt: T,
        revokedAt: null,
      });
      await insertSession(l, { hash: 's1', apiKeyId: 'k1', createdAt: T, expiresAt: T + 1000 });
      expect(await findSessionKey(l, 's1', T)).toMatchObject({
        tenantId: 't1',
        scopes: ['routing:callback:view'],
      });
      expect(await findSessionKey(l, 's1', T + 1000)).toBeUndefined();
      await endSession(l, 's1', T);
      expect(await findSessionKey(l, 's1', T)).toBeUndefined();

      // Dead letters: only this tenant's, retried once.
      const [row] = (await store.leaseOutbox('webhook', 100, 1000, T)).filter((r) => r.callbackPk === dPk);
      expect(row).toBeDefined();
      await store.markDead(row!.id, T, 'boom');
      const dead = await listDeadLetters(l, 't1', 10);
      const mine = dead.items.find((d) => d.callbackId === 'd');
      expect(mine).toBeDefined();
      expect(await retryDeadLetter(l, 'other', mine!.eventId, T)).toBe('not-found');
      expect(await retryDeadLetter(l, 't1', mine!.eventId, T)).toBe('retried');
      expect(await retryDeadLetter(l, 't1', mine!.eventId, T)).toBe('not-dead');
    } finally {
      await store.close();
    }
  });
});
