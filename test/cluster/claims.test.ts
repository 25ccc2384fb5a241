import { afterEach, describe, expect, it } from 'vitest';
import { ledgerCapacityCache } from '../../src/cluster/capacity-cache.js';
import { readClaimer, sharedSweepPosition } from '../../src/cluster/claims.js';
import { createCapacityGate } from '../../src/jobs/capacity.js';
import { openPostgresStore } from '../../src/ledger/postgres/index.js';
import type { KyselyStore } from '../../src/ledger/store.js';
import { makeSpec } from '../ledger/fixtures/spec.js';
import { freshSchema, PG_URL, type TestSchema } from './pg.js';

if (!PG_URL) {
  describe('tracking work split (PostgreSQL)', () => {
    it.skip('skipped: set CALLBACKD_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run it', () => {});
  });
} else {
  const url = PG_URL;
  let schema: TestSchema | undefined;
  const stores: KyselyStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await schema?.drop();
    schema = undefined;
  });

  async function instances(count: number) {
    schema = await freshSchema(url, 'claims');
    const name = schema.name;
    return Array.from({ length: count }, () => {
      const store = openPostgresStore(url, { schema: name, poolMax: 4 });
      stores.push(store);
      return store;
    });
  }

  describe('tracking work split (PostgreSQL)', () => {
    it('three instances claiming the same due callbacks at once split them: each read by exactly one', async () => {
      const [a, b, c] = await instances(3);
      for (let i = 0; i < 60; i++) {
        await a!.accept({
          tenantId: 't1',
          spec: makeSpec(`claim-${i}`),
          fingerprint: `f${i}`,
          at: 1_000,
          outbox: [],
        });
      }
      // What each instance's poll saw: the same rows, the same last_checked_at.
      const seen = (await a!.listNonTerminal(null, 100)).items;
      expect(seen).toHaveLength(60);
      const claimers = [a!, b!, c!].map((s, i) => readClaimer(s.kysely, () => 2_000 + i));
      const claimed = await Promise.all(claimers.map((claim) => claim(seen)));
      const all = claimed.flat().map((r) => r.pk);
      expect(new Set(all).size).toBe(60);
      expect(all).toHaveLength(60);

      // Next poll: each saw the new last_checked_at of what it read; claims on a stale view fail.
      expect(await claimers[0]!(seen)).toEqual([]);
      const fresh = (await b!.listNonTerminal(null, 100)).items;
      expect((await claimers[1]!(fresh)).map((r) => r.pk).sort()).toEqual([...all].sort());
    });

    it('capacity observations are cached in the ledger: two instances ask the platform once per window', async () => {
      const [a, b] = await instances(2);
      let now = 50_000;
      let observations = 0;
      const genesys = {
        queueObservations: async (ids: string[]) => {
          observations++;
          return ids.map((queueId) => ({ queueId, waiting: 3, interacting: 0 }));
        },
      };
      const policy = { maxCallbacks: 4 } as never;
      const gates = [a!, b!].map((s) =>
        createCapacityGate({
          genesys,
          clock: { now: () => now },
          policies: () => policy,
          shared: ledgerCapacityCache(s.kysely),
        }),
      );
      expect(await gates[0]!.preflight('q1')).toMatchObject({ action: 'submit' });
      expect(await gates[1]!.preflight('q1')).toMatchObject({ action: 'submit' });
      expect(observations).toBe(1);
      // A create one instance sent counts for the other: 4 of 4 now.
      gates[0]!.noteSubmitted('q1');
      await new Promise((r) => setTimeout(r, 100));
      now += 1_000;
      const other = createCapacityGate({
        genesys,
        clock: { now: () => now },
        policies: () => policy,
        shared: ledgerCapacityCache(b!.kysely),
      });
      expect(await other.preflight('q1')).toMatchObject({ action: 'defer' });
      expect(observations).toBe(1);
      now += 5_000;
      await gates[1]!.preflight('q1');
      expect(observations).toBe(2);
    });

    it('the sweep resumes where another instance stopped', async () => {
      const [a, b] = await instances(2);
      const pa = sharedSweepPosition(a!.kysely, 'member-a');
      const pb = sharedSweepPosition(b!.kysely, 'member-b');
      expect(await pb.load()).toBeNull();
      await pa.save(1234);
      expect(await pb.load()).toBe(1234);
      await pb.save(null);
      expect(await pa.load()).toBeNull();
    });

    it('one sweep per interval for the whole cluster, whoever takes it', async () => {
      const [a, b] = await instances(2);
      const pa = sharedSweepPosition(a!.kysely, 'member-a');
      const pb = sharedSweepPosition(b!.kysely, 'member-b');
      const turns = await Promise.all([pa.claimTurn(10_000, 1_000), pb.claimTurn(10_000, 1_000)]);
      expect(turns.filter(Boolean)).toHaveLength(1);
      expect(await pa.claimTurn(10_500, 1_000)).toBe(false);
      expect(await pb.claimTurn(10_500, 1_000)).toBe(false);
      expect(await pb.claimTurn(11_000, 1_000)).toBe(true);
      expect(await pa.claimTurn(11_200, 1_000)).toBe(false);
    });
  });
}
