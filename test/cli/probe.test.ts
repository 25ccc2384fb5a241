/** `callbackd doctor --probe`: the built binary against a separately started simulator (real time). */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  type Simulator,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../../src/simulator/index.js';
import { waitFor } from '../support/wait.js';
import { ensureBuilt, runCli, startCli } from './support.js';

let sim: Simulator;
beforeAll(async () => {
  ensureBuilt();
  sim = await startSimulator({ realTime: true, analyticsLagMs: 500, searchLagMs: 500 });
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.control.setNotificationsEnabled(true);
  sim.control.setSearchAllowed(true);
});

const env = () => ({
  GENESYS_BASE_URL: sim.url,
  GENESYS_CLIENT_ID: DEMO_CLIENT_ID,
  GENESYS_CLIENT_SECRET: DEMO_CLIENT_SECRET,
});
const probe = (extra: string[] = []) => [
  'doctor',
  '--probe',
  '--queue',
  SUPPORT_QUEUE_ID,
  '--number',
  '+14155552671',
  '--wait-seconds',
  '6',
  ...extra,
];

/** The probe conversations on the simulator: every one must be over when the probe is. */
const probes = () =>
  sim.control.conversations().filter((c) => c.data.callbackId?.startsWith('callbackd-probe-'));
const live = () => probes().filter((c) => c.endReason === null);

describe('callbackd doctor --probe', () => {
  it('passes against the simulator: every strategy finds the probe, and nothing is left on the org', async () => {
    const res = await runCli(probe(), { env: env(), timeoutMs: 30_000 });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /✓ the channel delivers the callback event carrying its attributes: found after/,
    );
    expect(res.stdout).toMatch(/✓ the participant-attributes search .*: found after/);
    expect(res.stdout).toMatch(/✓ the details query .*: found after/);
    expect(res.stdout).toMatch(/✓ answers carry inin-ratelimit/);
    expect(res.stdout).toMatch(/every assumption holds/);
    expect(probes().length).toBeGreaterThan(0);
    expect(live()).toEqual([]);
  });

  it('fails naming the assumption and what callbackd does instead when notifications deliver nothing', async () => {
    sim.control.setNotificationsEnabled(false);
    const res = await runCli(probe(), { env: env(), timeoutMs: 30_000 });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /✗ the channel delivers the callback event carrying its attributes: not found within 6 s/,
    );
    expect(res.stdout).toMatch(
      /callbackd instead: unclear creates settle through the search and analytics windows/,
    );
    expect(res.stdout).toMatch(/✓ the participant-attributes search/);
    expect(live()).toEqual([]);
  });

  it('fails naming the search when the org forbids it, as JSON too', async () => {
    sim.control.setSearchAllowed(false);
    const res = await runCli(probe(['--json']), { env: env(), timeoutMs: 30_000 });
    expect(res.code).toBe(1);
    const report = JSON.parse(res.stdout) as {
      ok: boolean;
      cleanedUp: boolean;
      checks: { assumption: string; ok: boolean; detail: string; instead?: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.cleanedUp).toBe(true);
    const search = report.checks.find((c) => c.assumption.includes('participant-attributes search'))!;
    expect(search.ok).toBe(false);
    expect(search.detail).toMatch(/403/);
    expect(search.instead).toMatch(/channel events and the details query/);
    expect(report.checks.find((c) => c.assumption.includes('details query'))?.ok).toBe(true);
    expect(live()).toEqual([]);
  });

  it('Ctrl-C during the wait still disconnects the probe callback (exit 130)', async () => {
    // Nothing is found, so the probe waits its full time unless interrupted.
    sim.control.setNotificationsEnabled(false);
    sim.control.setSearchAllowed(false);
    const before = probes().length;
    const child = startCli(
      probe().map((a) => (a === '6' ? '60' : a)),
      { env: env() },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waitFor('the probe callback to be created', () => probes().length > before, { timeoutMs: 15_000 });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(live()).toEqual([]);
  });

  it('refuses a queue that is not configured, with a usage error', async () => {
    const res = await runCli(['doctor', '--probe', '--queue', 'nope', '--number', '+14155552671'], {
      env: env(),
    });
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toMatch(/not a configured queue/);
  });
});
