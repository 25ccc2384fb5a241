/**
 * `callbackd import` (the built binary) against the real API server: 10,000 rows with 5 % bad
 * rows, killed mid-way with SIGKILL and run again → every good row exactly once in the ledger and
 * every bad row exactly once in the refused-rows file, with its reason.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../src/cli/commands/import.js';
import type { CallbackRecord } from '../../src/ledger/port.js';
import { startTestApi, type TestApi } from '../api/harness.js';
import { ensureBuilt, runCli, startCli } from './support.js';

const ROWS = 10_000;
const SUPPORT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
let api: TestApi;
let dir: string;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'callbackd-import-'));
  // Every customer's record holds the demo number, so the rows differ only where the test says.
  api = await startTestApi({
    trusted: { trustedNumbers: async () => ['+14155552671'] },
    ratePerMinute: 10_000_000,
  });
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

const BAD_KINDS = [
  'INVALID_PHONE_NUMBER',
  'SCHEDULED_TIME_IN_PAST',
  'UNKNOWN_QUEUE',
  'INVALID_TYPE',
  'CSV_FIELD_COUNT',
] as const;

/** Row i (1-based) is bad when i % 20 === 0 (5 %), in one of five ways. */
function badKind(i: number): (typeof BAD_KINDS)[number] | null {
  return i % 20 === 0 ? BAD_KINDS[(i / 20) % 5]! : null;
}

function writeCsv(path: string): void {
  const lines = [
    'callbackId,callbackNumber,callbackFrom,scheduledTime,queueId,priority,externalId,firstName,lastName,customerData.segment',
  ];
  const t0 = Date.parse('2030-01-07T16:00:00Z');
  for (let i = 1; i <= ROWS; i++) {
    const kind = badKind(i);
    // Half the rows name their callbackId; the other half have it derived from externalId + time.
    const id = i % 2 === 0 ? `imp-${i}` : '';
    const number = kind === 'INVALID_PHONE_NUMBER' ? 'call-me-maybe' : '+1 (415) 555-2671';
    const time =
      kind === 'SCHEDULED_TIME_IN_PAST'
        ? '2020-01-01T00:00:00Z'
        : new Date(t0 + (i % 500) * 60_000).toISOString();
    const queue = kind === 'UNKNOWN_QUEUE' ? 'no-such-queue' : SUPPORT;
    const priority = kind === 'INVALID_TYPE' ? 'high' : String(i % 10);
    const fields = [
      id,
      number,
      '+18005551234',
      time,
      queue,
      priority,
      `CUST-${i}`,
      'Marcus',
      '"Vance, Jr."',
      i % 3 ? 'gold' : '',
    ];
    if (kind === 'CSV_FIELD_COUNT') fields.pop();
    lines.push(fields.join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Refused rows at or below the resume mark: kept in the file from the first run, not re-judged. */
function refusedBefore(mark: number): number {
  let n = 0;
  for (let i = 1; i <= mark; i++) if (badKind(i)) n++;
  return n;
}

async function allCallbacks(): Promise<CallbackRecord[]> {
  const out: CallbackRecord[] = [];
  let after: number | null = null;
  for (;;) {
    const page = await api.store.list('acme', {}, after, 1000);
    out.push(...page.items);
    if (page.nextAfterPk === null) return out;
    after = page.nextAfterPk;
  }
}

async function waitForDoneThrough(statePath: string, rows: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(statePath)) {
      try {
        const done = JSON.parse(readFileSync(statePath, 'utf8')).doneThrough as number;
        if (done >= rows) return done;
      } catch {
        // Caught mid-rename: read again.
      }
    }
    if (Date.now() > deadline) throw new Error(`import did not reach row ${rows}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('callbackd import', () => {
  it('imports 10,000 rows, survives a SIGKILL mid-way, and resumes without duplicates', async () => {
    const csv = join(dir, 'callbacks.csv');
    writeCsv(csv);
    const env = { CALLBACKD_URL: api.url, CALLBACKD_KEY: api.keys.create };

    const first = startCli(['import', csv, '--concurrency', '8'], { env });
    let firstErr = '';
    first.stderr!.on('data', (d) => {
      firstErr += d;
    });
    const killedAt = await waitForDoneThrough(`${csv}.import-state.json`, 3_000, 60_000);
    const exited = new Promise((resolve) => first.on('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    expect(killedAt).toBeLessThan(ROWS);
    expect(firstErr).toMatch(/import: \d+ rows \(\d+%\), \d+ rows\/s, ETA \d+:\d\d/);

    const second = await runCli(['import', csv, '--json'], { env, timeoutMs: 120_000 });
    expect(second.code, second.stderr).toBe(1); // rows were refused
    const summary = JSON.parse(second.stdout);
    expect(summary.rows).toBe(ROWS);
    expect(summary.skippedAsDone).toBeGreaterThanOrEqual(3_000);
    expect(summary.refused).toBe(ROWS / 20);
    // Rows finished after the last saved mark were sent again and answered as replays, never twice.
    expect(summary.accepted + summary.replayed + summary.refused).toBe(
      ROWS - summary.skippedAsDone + refusedBefore(summary.skippedAsDone),
    );
    expect(second.stderr).toMatch(/resuming .* after row \d+/);

    const stored = await allCallbacks();
    expect(stored).toHaveLength(ROWS - ROWS / 20);
    const ids = new Set(stored.map((c) => c.callbackId));
    expect(ids.size).toBe(stored.length);
    for (let i = 2; i <= ROWS; i += 2) if (!badKind(i)) expect(ids.has(`imp-${i}`)).toBe(true);
    const derived = stored.find((c) => c.spec.customerData.externalId === 'CUST-1')!;
    expect(derived.callbackId).toBe('cb-CUST-1-20300107T160100Z');
    expect(derived.spec.customerData).toEqual({
      externalId: 'CUST-1',
      firstName: 'Marcus',
      lastName: 'Vance, Jr.',
      segment: 'gold',
    });
    expect(derived.spec.routingData.priority).toBe(1);

    const refused = parse(readFileSync(join(dir, 'callbacks.refused.csv')), { columns: true }) as Record<
      string,
      string
    >[];
    expect(refused).toHaveLength(ROWS / 20);
    const refusedRows = refused.map((r) => Number(r._row)).sort((a, b) => a - b);
    expect(refusedRows).toEqual(Array.from({ length: ROWS / 20 }, (_, k) => (k + 1) * 20));
    for (const r of refused) {
      const kind = badKind(Number(r._row))!;
      expect(r._errors, `row ${r._row}`).toContain(kind);
      expect(r.externalId).toBe(`CUST-${r._row}`);
    }
    expect(existsSync(`${csv}.import-state.json`)).toBe(false);
  }, 180_000);

  it('draws a progress bar with rate and ETA on a terminal', async () => {
    const csv = join(dir, 'small.csv');
    const rows = ['callbackId,callbackNumber,callbackFrom,scheduledTime,queueId,externalId'];
    for (let i = 1; i <= 50; i++)
      rows.push(`bar-${i},+14155552671,+18005551234,2030-01-07T17:00:00Z,${SUPPORT},CUST-${i}`);
    writeFileSync(csv, `${rows.join('\n')}\n`);
    let drawn = '';
    const { summary, exitCode } = await runImport({
      file: csv,
      target: { url: api.url, key: api.keys.create },
      progress: 'tty',
      tty: (chunk) => {
        drawn += chunk;
      },
    });
    expect(exitCode).toBe(0);
    expect(summary).toMatchObject({ rows: 50, accepted: 50, refused: 0, refusedFile: null });
    const last = drawn.split('\r').at(-1)!;
    expect(last).toMatch(
      /^█{24} 100% {2}50 rows {2}\d+ rows\/s {2}ETA 0:00 {2}\(50 accepted, 0 already there, 0 refused\)/,
    );
    expect(existsSync(join(dir, 'small.refused.csv'))).toBe(false);
  });

  it('refuses a file with unknown columns before sending anything (exit 2)', async () => {
    const csv = join(dir, 'bad-header.csv');
    writeFileSync(csv, 'callbackNumber,queueId,colour\n+14155552671,x,blue\n');
    const res = await runCli(['import', csv], {
      env: { CALLBACKD_URL: api.url, CALLBACKD_KEY: api.keys.create },
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown CSV column\(s\) colour/);
  });
});
