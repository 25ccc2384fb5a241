import { afterEach, describe, expect, it } from 'vitest';
import { budgetParameters, type Grant, SharedBudget } from '../../src/cluster/budget.js';
import { busiestWindow, freshSchema, PG_URL, type TestSchema } from './pg.js';

if (!PG_URL) {
  describe('shared platform budget (PostgreSQL)', () => {
    it.skip('skipped: set CALLBACKD_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run it', () => {});
  });
} else {
  const url = PG_URL;
  let schema: TestSchema | undefined;
  afterEach(async () => {
    await schema?.drop();
    schema = undefined;
  });

  // A short window keeps the test brief; the schedule's arithmetic does not depend on its length.
  const WINDOW_MS = 2_000;
  const BUDGET = 60;

  /** Each instance has its own pool, as separate processes would; reserve() is the scheduling step. */
  async function instances(count: number) {
    schema = await freshSchema(url, 'budget');
    const s = schema;
    return Array.from({ length: count }, () => {
      const pool = s.pool();
      return Object.assign(new SharedBudget({ db: pool, requestsPerMinute: BUDGET, windowMs: WINDOW_MS }), {
        pool,
      });
    });
  }

  /** `perInstance` concurrent callers on every instance, `each` reservations per caller. */
  async function contend(budgets: SharedBudget[], perInstance: number, each: number) {
    const grants: { member: number; grant: Grant }[] = [];
    await Promise.all(
      budgets.flatMap((b, member) =>
        Array.from({ length: perInstance }, async () => {
          for (let i = 0; i < each; i++) grants.push({ member, grant: (await b.reserve())! });
        }),
      ),
    );
    return grants;
  }

  describe('shared platform budget (PostgreSQL)', () => {
    it('two instances together never pass the budget in any window', async () => {
      const budgets = await instances(2);
      const grants = await contend(budgets, 8, 25);
      expect(grants).toHaveLength(400);
      expect(
        busiestWindow(
          grants.map((g) => g.grant.atMs),
          WINDOW_MS,
        ),
      ).toBeLessThanOrEqual(BUDGET);
      // Both took part: the schedule is shared, not split up front.
      expect(new Set(grants.map((g) => g.member)).size).toBe(2);
    });

    it('three instances together never pass the budget in any window, also when they really wait', async () => {
      const budgets = await instances(3);
      const grants = await contend(budgets, 6, 20);
      expect(grants).toHaveLength(360);
      expect(
        busiestWindow(
          grants.map((g) => g.grant.atMs),
          WINDOW_MS,
        ),
      ).toBeLessThanOrEqual(BUDGET);

      // acquire() waits for its grant: requests released by three instances at once.
      const released: number[] = [];
      await Promise.all(
        budgets.flatMap((b) =>
          Array.from({ length: 4 }, async () => {
            for (let i = 0; i < 10; i++) {
              expect(await b.acquire()).toBe(true);
              released.push(Date.now());
            }
          }),
        ),
      );
      expect(released).toHaveLength(120);
      // 120 requests cannot leave within one window of a 60 budget: the waits are real.
      expect(Math.max(...released) - Math.min(...released)).toBeGreaterThan(WINDOW_MS);
    });

    it("a killed member's share comes back at once: the survivor is scheduled at the full rate", async () => {
      const [a, b] = await instances(2);
      const { emissionMs } = budgetParameters(BUDGET, undefined, WINDOW_MS);
      // a dies with callers still queued: its connections go, its reservations are never used.
      const dying = contend([a!], 4, 1_000).catch(() => 'dead');
      await contend([b!], 4, 10);
      await a!.pool.end();
      expect(await dying).toBe('dead');
      const alone: Grant[] = [];
      for (let i = 0; i < 30; i++) alone.push((await b!.reserve())!);
      const gaps = alone.slice(1).map((g, i) => g.atMs - alone[i]!.atMs);
      for (const gap of gaps) expect(gap).toBeCloseTo(emissionMs, 3);
    });

    it('a lone instance after an idle spell gets the burst at once, then the budget rate', async () => {
      const [only] = await instances(1);
      const { burst, emissionMs } = budgetParameters(BUDGET, undefined, WINDOW_MS);
      const grants: Grant[] = [];
      for (let i = 0; i < burst + 5; i++) grants.push((await only!.reserve())!);
      for (const g of grants.slice(0, burst)) expect(g.atMs).toBeLessThanOrEqual(g.nowMs);
      const later = grants.slice(burst);
      for (const [i, g] of later.entries()) {
        if (i > 0) expect(g.atMs - later[i - 1]!.atMs).toBeCloseTo(emissionMs, 3);
      }
    });

    it('a slot that would come later than the caller can wait is not taken: the schedule does not move', async () => {
      const [only] = await instances(1);
      const { emissionMs } = budgetParameters(BUDGET, undefined, WINDOW_MS);
      await contend([only!], 1, 10);
      const before = (await only!.reserve())!;
      expect(before.atMs).toBeGreaterThan(before.nowMs);
      expect(await only!.reserve(0)).toBeNull();
      expect(await only!.acquire(undefined, 0)).toBe(false);
      const after = (await only!.reserve())!;
      expect(after.atMs - before.atMs).toBeCloseTo(emissionMs, 3);
    });

    it('an aborted wait resolves false without sending', async () => {
      const [only] = await instances(1);
      const ctrl = new AbortController();
      // Use up the burst, so the next acquire has to wait.
      await contend([only!], 1, 10);
      const waiting = only!.acquire(ctrl.signal);
      ctrl.abort();
      expect(await waiting).toBe(false);
    });
  });
}
