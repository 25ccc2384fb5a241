/** serve --demo (npm start): a first start schedules demo callbacks that play out on the simulator. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, DEMO_TENANT, startApp } from '../../src/app.js';
import { defaultConfigInput } from '../../src/config/defaults.js';
import { CallbackdConfigSchema } from '../../src/config/schema.js';
import { DEMO_CALLS } from '../../src/demo-traffic.js';
import { T0 } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'callbackd-demo-'));
let app: App | undefined;
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = () =>
  CallbackdConfigSchema.parse({
    ...defaultConfigInput(),
    ledger: { url: join(dir, 'ledger.db') },
    tracking: { pollIntervalMs: 200, sweepIntervalMs: 1_000, recentWindowMs: 60_000 },
  });

async function statuses(a: App): Promise<string[]> {
  const page = await a.store.list(DEMO_TENANT, {}, null, 100);
  return page.items.map((c) => c.status).sort();
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${await statuses(app!)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('demo traffic', () => {
  it('schedules the demo callbacks once, and they end completed and expired as the clock moves', async () => {
    const log = pino({ level: 'silent' });
    app = await startApp({
      config: config(),
      port: 0,
      logger: log,
      simulatorStartTime: T0,
      demoTraffic: true,
    });
    expect((await app.store.list(DEMO_TENANT, {}, null, 100)).items).toHaveLength(DEMO_CALLS.length);
    await until('every demo callback on the platform', async () =>
      (await statuses(app!)).every((s) => s === 'pending'),
    );
    // Simulated time moves in steps (the workers sleep on the simulator's clock), up to twenty
    // minutes: by then all but the one 90 minutes out have been dialled and have ended.
    const clock = app.simulator!.clock;
    const stopAt = clock.now() + 20 * 60_000;
    await until('the near demo callbacks to end', async () => {
      if ((await statuses(app!)).filter((x) => x === 'pending').length === 1) return true;
      if (clock.now() < stopAt) clock.advanceMs(15_000);
      return false;
    });
    expect(await statuses(app)).toEqual(['completed', 'completed', 'expired', 'expired', 'pending']);
    await app.close();

    // A restart on the same ledger adds nothing.
    app = await startApp({
      config: config(),
      port: 0,
      logger: log,
      simulatorStartTime: T0,
      demoTraffic: true,
    });
    expect((await app.store.list(DEMO_TENANT, {}, null, 100)).items).toHaveLength(DEMO_CALLS.length);
  });
});
