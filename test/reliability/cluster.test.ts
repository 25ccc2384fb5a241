/**
 * The short version of `npm run chaos -- --ledger postgres --instances 3`: three `callbackd serve`
 * children on one PostgreSQL schema, a random one SIGKILLed and restarted four times, the
 * simulator's faults and 429 storms, and one platform budget the three must share.
 */
import { describe, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/support.js';
import { CLUSTER_CHAOS_SHORT, runChaos } from './chaos/chaos.js';

const pgUrl = process.env.CALLBACKD_TEST_PG_URL;

describe('chaos on a PostgreSQL cluster (short): 3 instances, 4 SIGKILLs, one shared budget', () => {
  if (!pgUrl) {
    it.skip('skipped: set CALLBACKD_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run it', () => {});
    return;
  }
  it('loses nothing, duplicates nothing, ends every callback and never passes the budget in any minute', async () => {
    ensureBuilt();
    const r = await runChaos({ ...CLUSTER_CHAOS_SHORT, pgUrl });
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);

    expect(r.instances).toBe(3);
    expect(r.kills).toBe(4);
    expect(r.restarts).toBe(4);
    const q = r.requests;
    expect(q.created201 + q.replayed201 + q.lateRefusals).toBe(CLUSTER_CHAOS_SHORT.requests);
    expect(r.perCallbackId.moreThanOne).toBe(0);
    expect(r.perCallbackId.exactlyOne + r.perCallbackId.noneWithFinalReason).toBe(r.ledger.ledgerCallbacks);
    expect(r.ledger.byStatus['accepted'] ?? 0).toBe(0);
    expect(r.ledger.byStatus['pending'] ?? 0).toBe(0);

    // The run made more platform calls than one minute's budget, so the budget was binding.
    expect(r.platform.calls).toBeGreaterThan(CLUSTER_CHAOS_SHORT.requestsPerMinute);
    expect(r.budget!.busiestMinute).toBeLessThanOrEqual(CLUSTER_CHAOS_SHORT.requestsPerMinute);
  }, 180_000);
});
