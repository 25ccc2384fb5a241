/**
 * The composed app (startApp): simulator mode with the in-process simulator on a manual clock,
 * the real engine workers, and the API over loopback.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, DEMO_KEY_FILE, startApp } from '../../src/app.js';
import { defaultConfigInput } from '../../src/config/defaults.js';
import { type CallbackdConfig, CallbackdConfigSchema } from '../../src/config/schema.js';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait.js';
import { type AnyJson, guideBody, SUPPORT, T0 } from './harness.js';

const BASE = '/api/v2/routing/callbacks';
const silent = pino({ level: 'silent' });
let dir: string;

function configFor(ledgerUrl: string, genesys: Record<string, unknown> = {}): CallbackdConfig {
  const input = defaultConfigInput();
  return CallbackdConfigSchema.parse({
    ...input,
    ledger: { url: ledgerUrl },
    genesys: { ...input.genesys, ...genesys },
    tracking: { pollIntervalMs: 200, sweepIntervalMs: 1_000, recentWindowMs: 60_000 },
  });
}

async function call(app: App, method: string, path: string, body?: unknown, key = app.demoKey!) {
  const res = await fetch(app.url + path, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as AnyJson };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'callbackd-app-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('startApp in simulator mode', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp({
      config: configFor(join(dir, 'sim.db')),
      port: 0,
      logger: silent,
      simulatorStartTime: T0,
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it("runs on the simulator's clock and hands out a demo key for tenant demo", () => {
    expect(app.mode).toBe('simulator');
    expect(app.clock.now()).toBe(app.simulator!.clock.now());
    expect(app.demoKey).toMatch(/^cbk_[0-9A-Za-z]{40}$/);
    expect(readFileSync(join(dir, DEMO_KEY_FILE), 'utf8').trim()).toBe(app.demoKey);
  });

  it('takes the guide example to pending on the platform, then reschedules and cancels it there', async () => {
    const created = await call(app, 'POST', BASE, guideBody());
    expect(created.status).toBe(201);
    const id = created.body.callbackId as string;
    const pending = await waitFor('pending', async () => {
      const r = await call(app, 'GET', `${BASE}/${id}`);
      return r.body.status === 'pending' ? r.body : undefined;
    });
    const conversations = app.simulator!.control.conversations({ callbackId: id });
    expect(conversations.map((c) => c.id)).toEqual([pending.conversationId]);

    const queue = await call(app, 'GET', `/api/v2/routing/queues/${SUPPORT}`);
    expect(queue.status).toBe(200);
    expect(queue.body).toMatchObject({
      id: SUPPORT,
      name: 'Support',
      capacity: { maxCallbacks: 1000, error: null },
    });
    expect(queue.body.capacity.waiting).toBeGreaterThanOrEqual(1);
    expect((await call(app, 'GET', '/api/v2/routing/queues/nope')).status).toBe(404);

    const moved = await call(app, 'PATCH', `${BASE}/${id}`, { scheduledTime: '2030-01-07T17:30:00Z' });
    expect(moved.status).toBe(200);
    expect(moved.body.scheduledTime).toBe('2030-01-07T17:30:00.000Z');
    expect(app.simulator!.control.conversation(pending.conversationId)!.callbackScheduledTime).toBe(
      '2030-01-07T17:30:00.000Z',
    );

    const cancelled = await call(app, 'DELETE', `${BASE}/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(app.simulator!.control.conversation(pending.conversationId)!.phase).toBe('ended');
    expect(app.simulator!.control.conversations({ callbackId: id })).toHaveLength(1);
  });
});

describe('edits the platform does not confirm', () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp({
      config: configFor(join(dir, 'faults.db')),
      port: 0,
      logger: silent,
      simulatorStartTime: T0,
      genesysRetry: { maxRetries: 0 },
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers 503 PLATFORM_UNAVAILABLE and changes nothing; the repeated request then succeeds', async () => {
    const created = await call(app, 'POST', BASE, guideBody({ callbackId: 'flaky-1' }));
    expect(created.status).toBe(201);
    await waitFor('pending', async () =>
      (await call(app, 'GET', `${BASE}/flaky-1`)).body.status === 'pending' ? true : undefined,
    );
    app.simulator!.control.addFault({ endpoint: 'disconnectCallback', kind: 'error', status: 500 });
    const refused = await call(app, 'DELETE', `${BASE}/flaky-1`);
    expect(refused.status).toBe(503);
    expect(refused.body.errors[0].code).toBe('PLATFORM_UNAVAILABLE');
    expect((await call(app, 'GET', `${BASE}/flaky-1`)).body.status).toBe('pending');
    app.simulator!.control.clearFaults();
    const cancelled = await call(app, 'DELETE', `${BASE}/flaky-1`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });
});

describe('the demo key', () => {
  it('is the same after a restart on the same data dir, and revoked once the real platform is configured', async () => {
    const ledger = join(dir, 'restart.db');
    const first = await startApp({
      config: configFor(ledger),
      port: 0,
      logger: silent,
      simulatorStartTime: T0,
      workers: false,
    });
    const key = first.demoKey!;
    await first.close();
    const second = await startApp({
      config: configFor(ledger),
      port: 0,
      logger: silent,
      simulatorStartTime: T0,
      workers: false,
    });
    expect(second.demoKey).toBe(key);
    expect((await call(second, 'GET', BASE)).status).toBe(200);
    await second.close();

    // A separately started simulator stands in for a real org (platform mode: credentials given).
    const platform = await startSimulator({ startTime: T0 });
    const real = await startApp({
      config: configFor(ledger, {
        baseUrl: platform.url,
        clientId: DEMO_CLIENT_ID,
        clientSecret: DEMO_CLIENT_SECRET,
      }),
      port: 0,
      logger: silent,
      workers: false,
    });
    try {
      expect(real.mode).toBe('platform');
      expect(real.demoKey).toBeNull();
      expect((await call(real, 'GET', BASE, undefined, key)).status).toBe(401);
    } finally {
      await real.close();
      await platform.close();
    }
  });
});
