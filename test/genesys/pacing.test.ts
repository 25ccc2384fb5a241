import { afterEach, describe, expect, it } from 'vitest';
import { createGenesysClient, type GenesysClient } from '../../src/genesys/client.js';
import { HeaderPacer } from '../../src/genesys/pacing.js';
import {
  type FakePlatform,
  ManualClock,
  startFakePlatform,
  tokenReply,
  virtualSleep,
} from './fake-platform.js';

let platform: FakePlatform | undefined;
let client: GenesysClient | undefined;
afterEach(async () => {
  await client?.close();
  await platform?.close();
  client = undefined;
  platform = undefined;
});

const headers = (allowed: number, count: number, resetS: number) => ({
  'inin-ratelimit-allowed': String(allowed),
  'inin-ratelimit-count': String(count),
  'inin-ratelimit-reset': String(resetS),
});

describe('pacing from the inin-ratelimit-* headers', () => {
  it('a resource whose allowed is below the bucket spreads what is left over the time to reset', () => {
    const clock = new ManualClock();
    const pacer = new HeaderPacer({ clock, bucketPerMinute: 300 });
    pacer.observe('GET /x', { status: 200, headers: headers(180, 170, 50) });
    // 10 left for 50 s: one every 5 s.
    const waits = Array.from({ length: 4 }, () => pacer.reserve('GET /x'));
    expect(waits).toEqual([0, 5_000, 10_000, 15_000]);
    // Another resource is not slowed.
    expect(pacer.reserve('GET /y')).toBe(0);
  });

  it('a resource at the bucket rate is left to the bucket until it has nothing left, then waits for reset', () => {
    const clock = new ManualClock();
    const pacer = new HeaderPacer({ clock, bucketPerMinute: 300 });
    pacer.observe('GET /x', { status: 200, headers: headers(300, 10, 30) });
    expect(pacer.reserve('GET /x')).toBe(0);
    pacer.observe('GET /x', { status: 200, headers: headers(300, 300, 30) });
    expect(pacer.reserve('GET /x')).toBe(30_000);
    clock.advance(30_000);
    expect(pacer.reserve('GET /x')).toBe(0);
  });

  it('a 429 with Retry-After holds its resource until then', () => {
    const clock = new ManualClock();
    const pacer = new HeaderPacer({ clock, bucketPerMinute: 300 });
    pacer.observe('POST /q', { status: 429, headers: {} }, 7_000);
    expect(pacer.reserve('POST /q')).toBe(7_000);
  });

  it('the client reads the headers of ordinary 2xx answers and slows that resource', async () => {
    platform = await startFakePlatform((req) =>
      req.path === '/oauth/token'
        ? tokenReply('t')
        : { status: 200, body: { id: 'q', name: 'Q' }, headers: headers(120, 118, 20) },
    );
    const clock = new ManualClock();
    const { sleep, log } = virtualSleep(clock);
    client = createGenesysClient({ baseUrl: platform.url, clientId: 'i', clientSecret: 's', clock, sleep });
    await client.getQueue('q');
    await client.getQueue('q');
    await client.getQueue('q');
    // After the first answer: 2 left for 20 s, so the third request waits about 10 s.
    expect(log.some((ms) => ms >= 9_000)).toBe(true);
    expect(client.stats().pacedRequests).toBeGreaterThan(0);
  });
});
