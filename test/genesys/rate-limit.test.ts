import { afterEach, describe, expect, it } from 'vitest';
import { createGenesysClient, type GenesysClient } from '../../src/genesys/client.js';
import { TokenBucket } from '../../src/genesys/rate-limit.js';
import { type FakePlatform, ManualClock, startFakePlatform, tokenReply } from './fake-platform.js';

/** Largest number of events inside any window [t, t + windowMs). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe('token bucket', () => {
  it.each([300, 60, 7])(
    'keeps every sliding minute at or under %i requests (injected clock)',
    async (perMinute) => {
      const clock = new ManualClock();
      const bucket = new TokenBucket({
        requestsPerMinute: perMinute,
        clock,
        sleep: async (ms) => clock.advance(ms),
      });
      const times: number[] = [];
      for (let i = 0; i < perMinute * 4; i++) {
        await bucket.acquire();
        times.push(clock.now());
        // Irregular gaps between callers, as in real traffic.
        if (i % 17 === 0) clock.advance(1_500);
      }
      expect(maxInWindow(times, 60_000)).toBeLessThanOrEqual(perMinute);
      // And it does not throttle far below the limit: 4 minutes' worth in a little over 4 minutes.
      expect(times[times.length - 1]! - times[0]!).toBeLessThan(5 * 60_000);
    },
  );

  it('lets a small burst through at once after an idle spell, then spaces requests out', () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ requestsPerMinute: 300, clock });
    // A tenth of the limit, capped at 10 so a long drain keeps 290/300 of the rate.
    expect(bucket.burst).toBe(10);
    const waits = Array.from({ length: 12 }, () => bucket.reserve());
    expect(waits.slice(0, 10).every((w) => w === 0)).toBe(true);
    // (300 - 10) per minute = one every 206.9 ms once the burst is spent.
    expect(waits[10]).toBe(207);
    expect(waits[11]).toBe(414);
  });

  it('takes a tenth of a small limit as its burst', () => {
    expect(new TokenBucket({ requestsPerMinute: 60, clock: new ManualClock() }).burst).toBe(6);
  });

  it('an aborted wait gives its slot back', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket({ requestsPerMinute: 60, burst: 1, clock, sleep: async () => {} });
    await bucket.acquire();
    const ac = new AbortController();
    ac.abort();
    expect(await bucket.acquire(ac.signal)).toBe(false);
    // The returned slot means the next caller waits one interval, not two.
    expect(bucket.reserve()).toBe(Math.ceil(60_000 / 59));
  });

  it('refuses a limit it cannot keep', () => {
    expect(() => new TokenBucket({ requestsPerMinute: 0, clock: new ManualClock() })).toThrow(
      /requestsPerMinute/,
    );
  });
});

describe('client rate limiting', () => {
  let platform: FakePlatform | undefined;
  let client: GenesysClient | undefined;
  afterEach(async () => {
    await client?.close();
    await platform?.close();
  });

  it('one bucket is shared by every call of a client, concurrent callers included (real time)', async () => {
    const sent: number[] = [];
    platform = await startFakePlatform((req) => {
      if (req.path === '/oauth/token') return tokenReply('t');
      sent.push(performance.now());
      return { status: 200, body: { id: 'q', name: 'Q' } };
    });
    // 1200/min with a burst of 2: after two at once, one every 50 ms (1198 per minute).
    client = createGenesysClient({
      baseUrl: platform.url,
      clientId: 'id',
      clientSecret: 'secret',
      requestsPerMinute: 1_200,
      burst: 2,
    });
    const c = client;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? c.getQueue('q') : c.listDids())));
    expect(sent).toHaveLength(12);
    sent.sort((a, b) => a - b);
    const intervalMs = 60_000 / 1_198;
    // The k-th arrival needs k+1 requests sent, and the bucket sends request j (0-based) no
    // earlier than (j + 1 - burst) intervals after the first: a lower bound that load can only
    // push later. Without the shared bucket all twelve would arrive within a few milliseconds.
    for (let k = 2; k < sent.length; k++) {
      expect(sent[k]! - t0).toBeGreaterThanOrEqual((k + 1 - 2) * intervalMs - 1);
    }
  });
});
