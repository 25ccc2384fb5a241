/**
 * Exactly once under platform faults: whatever the simulator does to the create requests,
 * every accepted callback ends up on the platform exactly once (counted on the simulator by
 * data.callbackId) and pending in the ledger with that conversation's id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/simulator/index.js';
import {
  driveUntil,
  type Harness,
  noneAccepted,
  platformCounts,
  simSpec,
  startHarness,
} from './fixtures/sim-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function expectExactlyOnce(harness: Harness, ids: readonly string[]) {
  const counts = platformCounts(harness.sim, ids);
  expect(Object.entries(counts).filter(([, n]) => n !== 1)).toEqual([]);
  for (const row of await harness.callbacks()) {
    expect(row.status).toBe('pending');
    expect(row.submitInFlightAt).toBeNull();
    const [conv] = harness.sim.control.conversations({ callbackId: row.callbackId });
    expect(row.conversationId).toBe(conv?.id);
  }
}

async function acceptMany(harness: Harness, prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) await harness.accept(simSpec(harness.sim, id));
  return ids;
}

describe('submitter under platform faults (simulator + SQLite)', () => {
  it('a 429 storm (two workers bouncing off the platform limit): every callback is created exactly once', async () => {
    // 20 requests per simulated minute for 25 callbacks, two workers: most first tries bounce.
    h = await startHarness({ requestsPerMinute: 20 });
    // Without the inin-ratelimit-* headers the client cannot pace itself: it bounces off the limit.
    h.sim.control.setRateLimitHeaders(false);
    const ids = await acceptMany(h, 'cb-429', 25);
    const workers = [h.submitter(), h.submitter()];
    await driveUntil(h, workers, () => noneAccepted(h!), { stepMs: 5_000 });
    expect(h.sim.control.counters()['createCallback']?.['429'] ?? 0).toBeGreaterThan(0);
    await expectExactlyOnce(h, ids);
  });

  it('with the inin-ratelimit-* headers on, the client paces itself: the same storm draws no 429 after the first', async () => {
    h = await startHarness({ requestsPerMinute: 20 });
    const ids = await acceptMany(h, 'cb-paced', 25);
    const workers = [h.submitter(), h.submitter()];
    await driveUntil(h, workers, () => noneAccepted(h!), { stepMs: 5_000 });
    expect(h.sim.control.counters()['createCallback']?.['429'] ?? 0).toBeLessThanOrEqual(1);
    await expectExactlyOnce(h, ids);
  });

  it('5xx on creates (500, 502, 503, 504, none of them applied): exactly once', async () => {
    h = await startHarness();
    const faults: FaultRule[] = [500, 502, 503, 504].map((status) => ({
      endpoint: 'createCallback',
      kind: 'error',
      status,
      rate: 0.15,
    }));
    h.sim.control.setFaults(faults);
    const ids = await acceptMany(h, 'cb-5xx', 20);
    await driveUntil(h, [h.submitter(), h.submitter()], () => noneAccepted(h!), { stepMs: 4_000 });
    const seen = h.sim.control.counters()['createCallback'] ?? {};
    expect((seen['502'] ?? 0) + (seen['504'] ?? 0)).toBeGreaterThan(0);
    await expectExactlyOnce(h, ids);
  });

  it('connection resets and commit-then-no-answer on creates, faults on look-ups too: exactly once', async () => {
    h = await startHarness();
    h.sim.control.setFaults([
      { endpoint: 'createCallback', kind: 'reset', rate: 0.2 },
      { endpoint: 'createCallback', kind: 'commitNoAnswer', rate: 0.3 },
      { endpoint: 'conversationDetails', kind: 'error', status: 503, rate: 0.2 },
      { endpoint: 'conversationDetails', kind: 'reset', rate: 0.1 },
      { endpoint: 'getCallback', kind: 'error', status: 502, rate: 0.2 },
    ]);
    const ids = await acceptMany(h, 'cb-reset', 20);
    await driveUntil(h, [h.submitter(), h.submitter()], () => noneAccepted(h!), { stepMs: 4_000 });
    const seen = h.sim.control.counters()['createCallback'] ?? {};
    expect(seen['reset'] ?? 0).toBeGreaterThan(0);
    expect(seen['noAnswer'] ?? 0).toBeGreaterThan(0);
    await expectExactlyOnce(h, ids);
  });

  it('everything at once (429s, 5xx, resets, lost answers) with three workers: exactly once', async () => {
    h = await startHarness({ requestsPerMinute: 60 });
    h.sim.control.setFaults([
      { endpoint: 'createCallback', kind: 'error', status: 503, rate: 0.1 },
      { endpoint: 'createCallback', kind: 'error', status: 504, rate: 0.1 },
      { endpoint: 'createCallback', kind: 'reset', rate: 0.1 },
      { endpoint: 'createCallback', kind: 'commitNoAnswer', rate: 0.2 },
      { endpoint: 'conversationDetails', kind: 'error', status: 500, rate: 0.1 },
    ]);
    const ids = await acceptMany(h, 'cb-mix', 24);
    await driveUntil(h, [h.submitter(), h.submitter(), h.submitter()], () => noneAccepted(h!), {
      stepMs: 5_000,
    });
    await expectExactlyOnce(h, ids);
  });

  it('50 identical accepts at the same instant: one ledger row, one platform callback', async () => {
    h = await startHarness();
    const harness = h;
    const spec = simSpec(h.sim, 'cb-fifty');
    const results = await Promise.all(Array.from({ length: 50 }, () => harness.acceptOutcome(spec)));
    expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'replayed')).toHaveLength(49);
    expect(new Set(results.map((r) => r.callback.pk)).size).toBe(1);
    // Two workers race for whatever jobs the 50 accepts left.
    await driveUntil(h, [h.submitter(), h.submitter()], () => noneAccepted(h!));
    expect(platformCounts(h.sim, ['cb-fifty'])).toEqual({ 'cb-fifty': 1 });
    expect(h.sim.control.requestCount('createCallback')).toBe(1);
  });
});
