import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createGenesysClient, type GenesysClient } from '../../src/genesys/client.js';
import { PlatformError } from '../../src/genesys/port.js';
import { FullJitterBackoff, maskDigits, parseRetryAfterMs, RetryPolicy } from '../../src/genesys/retry.js';
import { exampleSpec } from './example-spec.js';
import {
  type FakePlatform,
  type Handler,
  ManualClock,
  startFakePlatform,
  tokenReply,
} from './fake-platform.js';

let platform: FakePlatform | undefined;
let client: GenesysClient | undefined;
afterEach(async () => {
  await client?.close();
  await platform?.close();
  client = undefined;
  platform = undefined;
});

async function setup(api: Handler, opts: { requestTimeoutMs?: number; maxRetries?: number } = {}) {
  platform = await startFakePlatform((req, n) =>
    req.path === '/oauth/token' ? tokenReply('t') : api(req, n),
  );
  const clock = new ManualClock();
  const sleeps: number[] = [];
  client = createGenesysClient({
    baseUrl: platform.url,
    clientId: 'id',
    clientSecret: 'secret',
    clock,
    requestTimeoutMs: opts.requestTimeoutMs ?? 2_000,
    maxRetries: opts.maxRetries ?? 3,
    baseDelayMs: 100,
    maxDelayMs: 10_000,
    maxRetryAfterMs: 60_000,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
  });
  return { client, sleeps, platform };
}

const created = { status: 200, body: { conversation: { id: 'conv-1' } } };

async function failure(p: Promise<unknown>): Promise<PlatformError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlatformError);
  return err as PlatformError;
}

describe('backoff and policy', () => {
  it('full jitter stays within [0, min(max, base * 2^(n-1))]', () => {
    const high = new FullJitterBackoff({ baseDelayMs: 100, maxDelayMs: 1_000 }, () => 0.999999);
    const low = new FullJitterBackoff({ baseDelayMs: 100, maxDelayMs: 1_000 }, () => 0);
    expect([1, 2, 3, 4, 5, 6].map((n) => high.delayMs(n))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(low.delayMs(5)).toBe(0);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfterMs('7', now)).toBe(7_000);
    expect(parseRetryAfterMs('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });

  it('the policy stops after maxRetries and passes non-retryable errors straight through', async () => {
    let calls = 0;
    const policy = new RetryPolicy({
      maxRetries: 2,
      maxRetryAfterMs: 1_000,
      backoff: new FullJitterBackoff({ baseDelayMs: 1, maxDelayMs: 1 }),
      shouldRetry: (e) => e.kind === 'retryable',
      sleep: async () => {},
    });
    const busy = new PlatformError('retryable', { code: 'X', message: 'x' }, 503);
    await expect(
      policy.execute(async () => {
        calls++;
        throw busy;
      }),
    ).rejects.toBe(busy);
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      policy.execute(async () => {
        calls++;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(calls).toBe(1);
  });

  it('masks phone numbers in platform messages', () => {
    expect(maskDigits('number +14155552671 is invalid')).toBe('number ***2671 is invalid');
    expect(maskDigits('queue 42 is closed')).toBe('queue 42 is closed');
  });
});

describe('client retries', () => {
  it('429 with Retry-After waits exactly that long, then succeeds', async () => {
    const { client, sleeps, platform } = await setup((_r, n) =>
      n.api === 1
        ? { status: 429, headers: { 'retry-after': '3' }, body: { code: 'too.many.requests' } }
        : created,
    );
    await expect(client.createCallback(exampleSpec())).resolves.toEqual({ conversationId: 'conv-1' });
    expect(sleeps).toEqual([3_000]);
    expect(platform.api()).toHaveLength(2);
  });

  it('503 without Retry-After backs off with full jitter, growing per retry', async () => {
    const { client, sleeps } = await setup((_r, n) => (n.api <= 3 ? { status: 503, body: {} } : created));
    await client.createCallback(exampleSpec());
    // random() = 0.5 → half of 100, 200, 400.
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('gives up after maxRetries with a retryable error carrying the last Retry-After', async () => {
    const { client, platform } = await setup(
      () => ({ status: 429, headers: { 'retry-after': '1' }, body: {} }),
      {
        maxRetries: 2,
      },
    );
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.kind).toBe('retryable');
    expect(err.reason.code).toBe('PLATFORM_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(1_000);
    expect(platform.api()).toHaveLength(3);
  });

  it('a Retry-After longer than maxRetryAfterMs is handed to the caller at once', async () => {
    const { client, sleeps, platform } = await setup(() => ({
      status: 429,
      headers: { 'retry-after': '120' },
      body: {},
    }));
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.retryAfterMs).toBe(120_000);
    expect(sleeps).toEqual([]);
    expect(platform.api()).toHaveLength(1);
  });

  it('other 4xx are final, mapped to a reason code, and sent once', async () => {
    const { client, platform } = await setup(() => ({
      status: 400,
      body: { code: 'bad.request', message: 'Invalid callback number +14155552671' },
    }));
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.kind).toBe('rejected');
    expect(err.httpStatus).toBe(400);
    expect(err.reason.code).toBe('PLATFORM_BAD_REQUEST');
    expect(err.reason.message).toContain('***2671');
    expect(err.reason.message).not.toContain('4155552671');
    expect(platform.api()).toHaveLength(1);
  });

  it('a refused create is never taken for a capacity refusal from a code no SDK or doc names', async () => {
    const { client } = await setup(() => ({
      status: 400,
      body: { code: 'callback.capacity.exceeded', message: 'The queue cannot take more scheduled callbacks' },
    }));
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.kind).toBe('rejected');
    expect(err.reason.code).toBe('PLATFORM_BAD_REQUEST');
  });

  it.each([502, 504, 500])('%i on a create is unclear and never re-sent', async (status) => {
    const { client, platform } = await setup(() => ({ status, body: {} }));
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.kind).toBe('unclear');
    expect(platform.api()).toHaveLength(1);
  });

  it('a connection reset after sending a create is unclear and never re-sent', async () => {
    const { client, platform } = await setup(() => 'reset');
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.kind).toBe('unclear');
    expect(err.reason.code).toBe('PLATFORM_CONNECTION_LOST');
    expect(platform.api()).toHaveLength(1);
  });

  it('a create with no answer before requestTimeoutMs is unclear (AbortSignal timeout), never re-sent', async () => {
    const { client, platform } = await setup(() => 'hang', { requestTimeoutMs: 150 });
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.kind).toBe('unclear');
    expect(err.reason.code).toBe('PLATFORM_TIMEOUT');
    expect(platform.api()).toHaveLength(1);
  });

  it('headers then a stalled body count as a timeout too', async () => {
    const { client } = await setup(() => 'stall-body', { requestTimeoutMs: 150 });
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.kind).toBe('unclear');
  });

  it('reads (GET, analytics) retry unclear failures: they are safe to repeat', async () => {
    const { client, platform } = await setup((_r, n) =>
      n.api === 1
        ? 'reset'
        : n.api === 2
          ? { status: 502, body: {} }
          : { status: 200, body: { id: 'q', name: 'Q' } },
    );
    await expect(client.getQueue('q')).resolves.toEqual({ id: 'q', name: 'Q' });
    expect(platform.api()).toHaveLength(3);
  });

  it('a refused connection (nothing sent) is retried, then reported as retryable', async () => {
    // A port that was just free: connecting to it is refused.
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as { port: number };
    await new Promise<void>((r) => srv.close(() => r()));
    platform = await startFakePlatform(() => tokenReply('t'));
    const sleeps: number[] = [];
    client = createGenesysClient({
      baseUrl: `http://127.0.0.1:${port}`,
      loginUrl: platform.url,
      clientId: 'id',
      clientSecret: 'secret',
      maxRetries: 2,
      baseDelayMs: 10,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const err = await failure(client.createCallback(exampleSpec()));
    expect(err.kind).toBe('retryable');
    expect(err.reason.code).toBe('PLATFORM_UNREACHABLE');
    expect(sleeps).toHaveLength(2);
    expect(client.stats().requests).toBe(3);
  });

  it('a create does not start an attempt after its send window: retryable, nothing more sent', async () => {
    const { client, platform } = await setup(() => ({
      status: 429,
      headers: { 'retry-after': '5' },
      body: {},
    }));
    const err = await failure(client.createCallback(exampleSpec(), { sendWithinMs: 8_000 }));
    // First attempt at t=0, Retry-After 5 s → t=5 s; 5 s + 2 s timeout ≤ 8 s → second attempt;
    // then t=10 s is past the window.
    expect(err.kind).toBe('retryable');
    expect(err.reason.code).toBe('PLATFORM_SEND_WINDOW_CLOSED');
    expect(platform.api()).toHaveLength(2);
  });
});
