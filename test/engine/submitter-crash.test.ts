/**
 * A worker killed with SIGKILL between sending the create and recording its answer (a real
 * child process sharing the SQLite file), then a restarted worker: exactly one platform callback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from '../../src/simulator/index.js';
import { driveUntil, type Harness, simSpec, startHarness, TEST_TIMING } from './fixtures/sim-harness.js';

const CHILD = fileURLToPath(new URL('./fixtures/submit-child.ts', import.meta.url));

let h: Harness | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  child = undefined;
  await h?.close();
  h = undefined;
});

/** Starts the child submitter and resolves with the first line it prints. */
async function runChildUntilFrozen(harness: Harness, pause: 'after-send' | 'before-send'): Promise<string> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: {
      ...process.env,
      PAUSE: pause,
      NOW_MS: String(harness.clock.now()),
      CALLBACKD_DB: harness.dbPath,
      SIM_URL: harness.sim.url,
      GENESYS_CLIENT_ID: DEMO_CLIENT_ID,
      GENESYS_CLIENT_SECRET: DEMO_CLIENT_SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.on('exit', (code, signal) =>
      reject(new Error(`child exited (${code ?? signal}) before freezing: ${stderr}`)),
    );
  });
}

async function kill(proc: ChildProcess) {
  proc.kill('SIGKILL');
  const [, signal] = await once(proc, 'exit');
  expect(signal).toBe('SIGKILL');
}

describe('submitter crash between send and record (SIGKILL, real child process)', () => {
  it('killed after the platform took the create: the restarted worker adopts it, exactly one callback', async () => {
    h = await startHarness();
    const accepted = await h.accept(simSpec(h.sim, 'cb-sigkill-after'));
    const line = await runChildUntilFrozen(h, 'after-send');
    const sentId = /^SENT (\S+)$/.exec(line)?.[1];
    expect(sentId).toBeDefined();
    await kill(child!);

    // The crash left the ledger saying "in flight", the platform holding one callback.
    const crashed = (await h.store.getByPk(accepted.pk))!;
    expect(crashed.status).toBe('accepted');
    expect(crashed.submitInFlightAt).not.toBeNull();
    expect(h.sim.control.conversations({ callbackId: 'cb-sigkill-after' })).toHaveLength(1);

    // Restart: a new worker waits for the dead one's lease to expire, then resolves by look-up.
    const passes = await driveUntil(h, [h.submitter()], async () => {
      return (await h!.store.getByPk(accepted.pk))!.status !== 'accepted';
    });
    expect(passes).toBeGreaterThan(TEST_TIMING.leaseMs / 1_000 - 1);
    const row = (await h.store.getByPk(accepted.pk))!;
    expect(row.status).toBe('pending');
    expect(row.conversationId).toBe(sentId);
    expect(h.sim.control.conversations({ callbackId: 'cb-sigkill-after' })).toHaveLength(1);
    expect(h.sim.control.requestCount('createCallback')).toBe(1);
  });

  it('killed after marking in flight but before sending: the restarted worker sends once, after the look-up window', async () => {
    h = await startHarness();
    const accepted = await h.accept(simSpec(h.sim, 'cb-sigkill-before'));
    expect(await runChildUntilFrozen(h, 'before-send')).toBe('MARKED');
    await kill(child!);
    const crashed = (await h.store.getByPk(accepted.pk))!;
    expect(crashed.submitInFlightAt).not.toBeNull();
    expect(h.sim.control.requestCount('createCallback')).toBe(0);

    await driveUntil(
      h,
      [h.submitter()],
      async () => (await h!.store.getByPk(accepted.pk))!.status !== 'accepted',
    );
    expect(h.clock.now()).toBeGreaterThanOrEqual(
      crashed.submitInFlightAt! + TEST_TIMING.sendWindowMs + TEST_TIMING.analyticsLagMs,
    );
    expect(h.sim.control.conversations({ callbackId: 'cb-sigkill-before' })).toHaveLength(1);
    expect((await h.store.getByPk(accepted.pk))!.status).toBe('pending');
  });
});
