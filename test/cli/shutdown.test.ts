/**
 * Bounded stop, tried as an operator would: a real `callbackd serve` child against a separately
 * started simulator (its own child process), hundreds of callbacks on the platform and being
 * tracked, then the platform goes away (the simulator is SIGKILLed: connections refused) and
 * serve gets SIGTERM while its tracker is retrying reads. It must exit cleanly within
 * server.shutdownTimeoutMs (docs/ARCHITECTURE.md, "Stopping").
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait.js';
import { ensureBuilt, runCli, startCli, waitForLine } from './support.js';

const CALLBACKS = 300;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const PATH = '/api/v2/routing/callbacks';

let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'callbackd-shutdown-'));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Tomorrow 16:00 UTC: inside the demo queue's hours and the customer's calling window. */
function tomorrowAt16(): string {
  const d = new Date(Date.now() + 86_400_000);
  d.setUTCHours(16, 0, 0, 0);
  return d.toISOString();
}

describe('serve under SIGTERM while the platform is unreachable', () => {
  it(`exits cleanly within shutdownTimeoutMs with ${CALLBACKS} callbacks in flight`, async () => {
    const sim = startCli(['sim', '--port', '0']);
    children.push(sim);
    const simUrl = (await waitForLine(sim, /simulator listening on (\S+)/)).match[1]!;
    // Lift the simulated org's rate limit so the setup is quick; the platform is not under test.
    const settings = await fetch(`${simUrl}/sim/settings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestsPerMinute: 1_000_000 }),
    });
    expect(settings.ok).toBe(true);

    const env = {
      CALLBACKD_DB: join(dir, 'ledger.db'),
      GENESYS_BASE_URL: simUrl,
      GENESYS_CLIENT_ID: DEMO_CLIENT_ID,
      GENESYS_CLIENT_SECRET: DEMO_CLIENT_SECRET,
      CALLBACKD_LOG_LEVEL: 'warn',
    };
    const created = await runCli(['keys', 'create', '--tenant', 'acme', '--scopes', 'all'], { env });
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    const config = join(dir, 'callbackd.yaml');
    writeFileSync(
      config,
      `server:\n  shutdownTimeoutMs: ${SHUTDOWN_TIMEOUT_MS}\ngenesys:\n  requestsPerMinute: 1000000\nintake:\n  requestsPerMinutePerKey: 1000000\n`,
    );

    const serve = startCli(['serve', '--port', '0', '--config', config], { env });
    children.push(serve);
    let log = '';
    serve.stdout!.on('data', (d) => {
      log += d;
    });
    const url = (await waitForLine(serve, /listening on (\S+)/, 30_000)).match[1]!;
    const api = (path: string, init: RequestInit = {}) =>
      fetch(url + path, {
        ...init,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      });

    const scheduledTime = tomorrowAt16();
    let next = 0;
    const post = async () => {
      while (next < CALLBACKS) {
        const i = next++;
        const res = await api(PATH, {
          method: 'POST',
          body: JSON.stringify({
            callbackId: `cb-shutdown-${i}`,
            callbackNumber: '+14155552671',
            callbackFrom: '+18005551234',
            callbackTo: '+18005551234',
            scheduledTime,
            routingData: {
              queueId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
              wrapUpCode: 'PROGRAMMATIC_CALLBACK',
            },
            mediaType: 'voice',
            customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
          }),
        });
        expect(res.status, await res.text()).toBe(201);
      }
    };
    await Promise.all(Array.from({ length: 8 }, post));

    // Most of them on the platform (pending): the tracker reads each a few seconds after it changed.
    await waitFor(
      'most callbacks pending on the platform',
      async () => {
        const res = await api(`${PATH}?status=pending&limit=500`);
        const body = (await res.json()) as { items: unknown[] };
        return body.items.length >= CALLBACKS * 0.8;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );

    // The platform goes away: every connection refused from now on.
    sim.kill('SIGKILL');
    await exited(sim);
    // The tracker is now mid-pass, retrying its reads (at +5 s, +15 s … after each change) with
    // backoff: before the stop signal reached them, such a pass held the stop for minutes.
    // (The tracker reads the whole conversation: GET /api/v2/conversations/{id}.)
    const trackerRetrying = /GET \/api\/v2\/conversations\/\{id\}[^\n]*genesys request retried/;
    await waitFor('the tracker retrying its reads', () => trackerRetrying.test(log), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });

    const sentAt = Date.now();
    serve.kill('SIGTERM');
    const { code, signal } = await exited(serve);
    const tookMs = Date.now() - sentAt;
    // A clean stop (exit 0), not the bound's forced exit (3) and not a kill.
    expect({ code, signal }, log.slice(-2_000)).toEqual({ code: 0, signal: null });
    // The bound itself, plus process start-up slack on a loaded machine: never the minutes
    // (retries with backoff on hundreds of reads) an unbounded stop takes.
    expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  }, 240_000);
});
