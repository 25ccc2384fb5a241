/** The built `callbackd` binary: serve, keys, migrate, the API clients, doctor, and their exit codes. */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  type Simulator,
  startSimulator,
} from '../../src/simulator/index.js';
import { ensureBuilt, runCli, startCli, waitForLine } from './support.js';

let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'callbackd-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Tomorrow 16:00 UTC: inside the demo queue's hours and the customer's calling window. */
function tomorrowAt16(): string {
  const d = new Date(Date.now() + 86_400_000);
  d.setUTCHours(16, 0, 0, 0);
  return d.toISOString();
}

describe('usage', () => {
  it('exits 0 for --help and 2 for unknown commands, bad options and a missing key', async () => {
    const [help, unknown, badPort, noKey] = await Promise.all([
      runCli(['--help']),
      runCli(['frobnicate']),
      runCli(['serve', '--port', 'eighty']),
      runCli(['status', 'x'], { env: { CALLBACKD_KEY: undefined } }),
    ]);
    expect(help.code).toBe(0);
    for (const cmd of [
      'serve',
      'sim',
      'keys',
      'migrate',
      'schedule',
      'status',
      'cancel',
      'list',
      'import',
      'doctor',
    ]) {
      expect(help.stdout).toContain(cmd);
    }
    expect(unknown.code).toBe(2);
    expect(badPort.code).toBe(2);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/CALLBACKD_KEY/);
  });
});

describe('keys and migrate', () => {
  it('creates a key shown once, lists it without the secret, and revokes it', async () => {
    const env = { CALLBACKD_DB: join(dir, 'keys.db') };
    const migrated = await runCli(['migrate'], { env });
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/is migrated/);
    const created = await runCli(
      [
        'keys',
        'create',
        '--tenant',
        'acme',
        '--scopes',
        'routing:callback:view,routing:callback:create',
        '--name',
        'crm',
      ],
      { env },
    );
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^cbk_[0-9A-Za-z]{40}$/);
    const id = created.stderr.match(/created (key_\w+)/)![1]!;

    const list = await runCli(['keys', 'list', '--json'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(key.slice(4));
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        id,
        tenantId: 'acme',
        name: 'crm',
        scopes: ['routing:callback:view', 'routing:callback:create'],
        revokedAt: null,
      }),
    ]);
    expect(JSON.parse(list.stdout)[0]).not.toHaveProperty('hash');

    expect((await runCli(['keys', 'revoke', id], { env })).code).toBe(0);
    expect((await runCli(['keys', 'revoke', id], { env })).code).toBe(1);
    expect((await runCli(['keys', 'list'], { env })).stdout).toMatch(new RegExp(`${id}.*revoked`));
    expect(
      (await runCli(['keys', 'create', '--tenant', 'acme', '--scopes', 'routing:callback:fly'], { env }))
        .code,
    ).toBe(2);
  });
});

describe('callbackd serve and the API clients', () => {
  let serve: ChildProcess;
  let url: string;
  let key: string;
  let firstLine: string;
  let serveOutput = '';
  const cwd = () => join(dir, 'serve');

  beforeAll(async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(cwd(), { recursive: true });
    serve = startCli(['serve', '--port', '0'], { cwd: cwd(), env: { CALLBACKD_LOG_LEVEL: 'debug' } });
    serve.stdout!.on('data', (d) => {
      serveOutput += d;
    });
    const { match, output } = await waitForLine(serve, /listening on (http:\/\/\S+)\n/);
    url = match[1]!;
    firstLine = output.split('\n')[0]!;
    key = output.match(/demo API key[^:]*: (cbk_\w+)/)![1]!;
  });
  afterAll(() => {
    serve.kill('SIGKILL');
  });

  it('announces simulator mode in its first line and prints a demo key', () => {
    expect(firstLine).toMatch(/SIMULATOR MODE/);
    expect(key).toMatch(/^cbk_/);
  });

  it('schedules, shows, lists and cancels with exit 0, and refuses with exit 1', async () => {
    const env = { CALLBACKD_URL: url, CALLBACKD_KEY: key };
    const time = tomorrowAt16();
    const args = [
      'schedule',
      '--number',
      '+14155552671',
      '--from',
      '+18005551234',
      '--time',
      time,
      '--queue',
      'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
    ];
    const scheduled = await runCli(
      [...args, '--external-id', 'CRM-998271', '--first-name', 'Marcus', '--json'],
      { env },
    );
    expect(scheduled.code, scheduled.stderr).toBe(0);
    const cb = JSON.parse(scheduled.stdout);
    expect(cb.status).toBe('accepted');

    const [again, status, list, missing, refused, badKey] = await Promise.all([
      runCli([...args, '--external-id', 'CRM-998271', '--first-name', 'Marcus'], { env }),
      runCli(['status', cb.callbackId], { env }),
      runCli(['list', '--json', '--url', url, '--key', key], { env: { CALLBACKD_KEY: undefined } }),
      runCli(['status', 'no-such-callback'], { env }),
      runCli([...args, '--external-id', 'CRM-998271', '--time', '2020-01-01T00:00:00Z'], { env }),
      runCli(['status', cb.callbackId, '--key', `cbk_${'x'.repeat(40)}`], { env }),
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already scheduled/);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(cb.callbackId);
    expect(status.stdout).not.toContain('4155552671');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).items.map((c: { callbackId: string }) => c.callbackId)).toContain(
      cb.callbackId,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/CALLBACK_NOT_FOUND/);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/SCHEDULED_TIME_IN_PAST/);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/UNAUTHORIZED/);

    const cancelled = await runCli(['cancel', cb.callbackId, '--json'], { env });
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout).status).toBe('cancelled');
  });

  it('lists bookable slots, human and --json, and refuses a window over 31 days with exit 1', async () => {
    const env = { CALLBACKD_URL: url, CALLBACKD_KEY: key };
    const from = tomorrowAt16().replace('16:00:00', '00:00:00');
    const to = new Date(Date.parse(from) + 86_400_000).toISOString();
    const queue = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
    const window = ['slots', queue, '--from', from, '--to', to, '--zone', 'America/New_York'];
    const [human, json, tooLong] = await Promise.all([
      runCli(window, { env }),
      runCli([...window, '--json'], { env }),
      runCli(['slots', queue, '--from', from, '--to', '2099-01-01T00:00:00Z'], { env }),
    ]);
    expect(human.code, human.stderr).toBe(0);
    const answer = JSON.parse(json.stdout);
    expect(answer.timeZone).toBe('America/New_York');
    // 08:00–21:00 New York in quarter hours: 52 slots in any UTC day.
    expect(answer.slots).toHaveLength(52);
    expect(human.stdout.split('\n')[0]).toBe('52 bookable slots, local times in America/New_York:');
    expect(human.stdout).toContain(`${answer.slots[0].localStart}  ${answer.slots[0].start}  open`);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/INVALID_VALUE/);
  });

  it('schedules from a JSON body on stdin', async () => {
    const body = {
      callbackNumber: '+14155552671',
      callbackFrom: '+18005551234',
      callbackTo: '+18005551234',
      scheduledTime: tomorrowAt16().replace('16:00:00', '16:30:00'),
      routingData: { queueId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890' },
      customerData: { externalId: 'CRM-998271' },
    };
    const res = await runCli(['schedule', '--body', '-', '--json'], {
      env: { CALLBACKD_URL: url, CALLBACKD_KEY: key },
      input: JSON.stringify(body),
    });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).callbackId).toMatch(/^cb-CRM-998271-\d{8}T163000Z$/);
  });

  it('logs structured JSON that never holds a key or a whole phone number', () => {
    const logLines = serveOutput.split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(5);
    for (const line of logLines) {
      expect(() => JSON.parse(line)).not.toThrow();
      expect(line).not.toContain(key);
      expect(line).not.toMatch(/4155552671/);
    }
    expect(serveOutput).toMatch(/\*+2671/);
  });

  it('exits 3 when the API is unreachable', async () => {
    const res = await runCli(['status', 'x', '--url', 'http://127.0.0.1:9', '--key', key]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/unreachable/);
  });

  it('keeps the demo key across a restart of serve on the same data dir, and shuts down cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => serve.on('exit', resolve));
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
    const again = startCli(['serve', '--port', '0'], { cwd: cwd() });
    try {
      const { output } = await waitForLine(again, /listening on (http:\/\/\S+)\n/);
      expect(output).toContain(key);
    } finally {
      const done = new Promise((resolve) => again.on('exit', resolve));
      again.kill('SIGINT');
      await done;
    }
  });
});

describe('callbackd sim', () => {
  it('runs the simulator alone, prints its demo org and serves it at /sim/org', async () => {
    const sim = startCli(['sim', '--port', '0']);
    try {
      const { match, output } = await waitForLine(sim, /simulator listening on (http:\/\/\S+)\n/);
      expect(output).toContain('a1b2c3d4-e5f6-7890-abcd-ef1234567890');
      const org = (await (await fetch(`${match[1]}/sim/org`)).json()) as { oauth: { clientId: string } };
      expect(org.oauth.clientId).toBe(DEMO_CLIENT_ID);
    } finally {
      const done = new Promise((resolve) => sim.on('exit', resolve));
      sim.kill('SIGTERM');
      expect(await done).toBe(0);
    }
  });
});

describe('callbackd doctor', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(async () => {
    await sim.close();
  });

  const platformEnv = () => ({
    GENESYS_BASE_URL: sim.url,
    GENESYS_CLIENT_ID: DEMO_CLIENT_ID,
    GENESYS_CLIENT_SECRET: DEMO_CLIENT_SECRET,
    CALLBACKD_DB: join(dir, 'doctor.db'),
  });

  it('passes every check for the demo config against the demo org', async () => {
    const res = await runCli(['doctor'], { env: platformEnv() });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/✓ credentials/);
    expect(res.stdout).toMatch(/✓ queue Support/);
    expect(res.stdout).toMatch(/✓ wrap-up code PROGRAMMATIC_CALLBACK/);
    expect(res.stdout).toMatch(/✓ DID \+18005551234/);
    expect(res.stdout).toMatch(/all checks passed/);
  });

  it('names what to fix: a wrong secret, an unknown queue, wrap-up code and DID', async () => {
    const config = join(dir, 'doctor.yaml');
    writeFileSync(
      config,
      [
        'queues:',
        '  not-a-queue:',
        '    name: Ghost',
        '    openHours: { timeZone: America/New_York }',
        '    dids: [{ number: "+18005551234" }]',
        '  a1b2c3d4-e5f6-7890-abcd-ef1234567890:',
        '    name: Support',
        '    openHours: { timeZone: America/New_York }',
        '    wrapUpCodes: [PROGRAMMATIC_CALLBACK, NO_SUCH_CODE]',
        '    dids: [{ number: "+18005559999" }]',
      ].join('\n'),
    );
    const [wrong, res] = await Promise.all([
      runCli(['doctor'], { env: { ...platformEnv(), GENESYS_CLIENT_SECRET: 'wrong-secret-value' } }),
      runCli(['doctor', '--config', config], { env: platformEnv() }),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/✗ credentials/);
    expect(wrong.stdout).toMatch(/fix: .*GENESYS_CLIENT_SECRET/);
    expect(wrong.stdout).not.toContain('wrong-secret-value');

    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /✗ queue Ghost \(not-a-queue\) exists\n\s+fix: no queue not-a-queue on the platform/,
    );
    expect(res.stdout).toMatch(/✗ wrap-up code NO_SUCH_CODE .*\n\s+fix: /);
    expect(res.stdout).toMatch(/✗ DID \+18005559999 .*\n\s+fix: the org has no DID/);
    expect(res.stdout).toMatch(/✓ wrap-up code PROGRAMMATIC_CALLBACK/);
  });

  it('says so and checks against the built-in simulator when no credentials are set', async () => {
    const res = await runCli(['doctor'], { env: { CALLBACKD_DB: join(dir, 'doctor.db') } });
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n')[0]).toMatch(/no Genesys credentials/);
  });
});
