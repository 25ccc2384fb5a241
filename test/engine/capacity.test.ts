import { describe, expect, it } from 'vitest';
import { CallbackdConfigSchema, defaultConfigInput } from '../../src/config/index.js';
import type { QueuePolicy } from '../../src/domain/policy.js';
import type { QueueObservation } from '../../src/genesys/port.js';
import { createCapacityGate, ROUTED_TO_OVERFLOW } from '../../src/jobs/capacity.js';
import { manualClock } from './support.js';

const config = CallbackdConfigSchema.parse(defaultConfigInput());
const SUPPORT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const BILLING = 'b2c3d4e5-f6a7-8901-bcde-f12345678901';
const policies = (id: string): QueuePolicy | undefined => config.queues[id];

/** A platform whose waiting counts the test sets, counting observation queries. */
function platform(waiting: Record<string, number>) {
  const calls: string[][] = [];
  return {
    calls,
    waiting,
    genesys: {
      async queueObservations(ids: readonly string[]): Promise<QueueObservation[]> {
        calls.push([...ids]);
        return ids.map((queueId) => ({ queueId, waiting: waiting[queueId] ?? 0, interacting: 0 }));
      },
    },
  };
}

describe('capacity pre-flight', () => {
  it('submits to the queue itself while it is under maxCallbacks', async () => {
    const p = platform({ [BILLING]: 4 });
    const gate = createCapacityGate({ genesys: p.genesys, clock: manualClock(0), policies });
    expect(await gate.preflight(BILLING)).toEqual({ action: 'submit', queueId: BILLING, reason: null });
  });

  it('routes to the overflow queue when the queue is full, saying so in the reason', async () => {
    const p = platform({ [BILLING]: 5, [SUPPORT]: 10 });
    const gate = createCapacityGate({ genesys: p.genesys, clock: manualClock(0), policies });
    const d = await gate.preflight(BILLING);
    expect(d).toMatchObject({ action: 'submit', queueId: SUPPORT, reason: { code: ROUTED_TO_OVERFLOW } });
    expect(d.reason?.message).toMatch(/5 of 5/);
  });

  it('defers by a random delay in the configured range when the queue and its overflow are full', async () => {
    const p = platform({ [BILLING]: 5, [SUPPORT]: 1000 });
    const clock = manualClock(1_000_000);
    const delays = [0, 0.5, 0.999].map(async (r) => {
      const gate = createCapacityGate({
        genesys: p.genesys,
        clock,
        policies,
        deferMinMs: 60_000,
        deferMaxMs: 180_000,
        random: () => r,
      });
      const d = await gate.preflight(BILLING);
      if (d.action !== 'defer') throw new Error('expected a deferral');
      expect(d.reason.code).toBe('QUEUE_FULL');
      expect(d.reason.message).toMatch(/overflow queue/);
      return d.runAt - clock.now();
    });
    const [low, mid, high] = await Promise.all(delays);
    expect(low).toBe(60_000);
    expect(mid).toBe(120_000);
    expect(high).toBeGreaterThan(179_000);
    expect(high).toBeLessThanOrEqual(180_000);
  });

  it('defers a full queue without an overflow queue', async () => {
    const p = platform({ [SUPPORT]: 1000 });
    const gate = createCapacityGate({ genesys: p.genesys, clock: manualClock(0), policies });
    expect(await gate.preflight(SUPPORT)).toMatchObject({ action: 'defer', reason: { code: 'QUEUE_FULL' } });
  });

  it('observes a queue once per cache period, counting its own submits in between', async () => {
    const p = platform({ [BILLING]: 3 });
    const clock = manualClock(0);
    const gate = createCapacityGate({ genesys: p.genesys, clock, policies, cacheMs: 5_000 });
    // Concurrent pre-flights share one query.
    await Promise.all([gate.preflight(BILLING), gate.preflight(BILLING), gate.preflight(BILLING)]);
    expect(p.calls).toHaveLength(1);
    gate.noteSubmitted(BILLING);
    gate.noteSubmitted(BILLING);
    // 3 observed + 2 sent since = 5: full, although the platform has not been asked again.
    expect(await gate.preflight(BILLING)).toMatchObject({ action: 'submit', queueId: SUPPORT });
    expect(p.calls.map((c) => c[0])).toEqual([BILLING, SUPPORT]);
    clock.advance(5_000);
    expect(await gate.preflight(BILLING)).toMatchObject({ action: 'submit', queueId: BILLING });
    expect(p.calls).toHaveLength(3);
  });
});
