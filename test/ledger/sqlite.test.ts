import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/ledger/index.js';
import type { Store } from '../../src/ledger/port.js';
import { storeContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'callbackd-ledger-'));
const opened: Store[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
let n = 0;

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openFresh(): { store: Store; file: string } {
  const file = join(dir, `ledger-${++n}.db`);
  const store = openSqliteStore(file);
  opened.push(store);
  return { store, file };
}

describe('SQLite store contract', () => {
  storeContract({
    async fresh() {
      const { store } = openFresh();
      await store.migrate();
      return store;
    },
    // better-sqlite3 is synchronous: a second connection in the same process that waits for the
    // write lock blocks the event loop the first one needs to finish. One process holds one
    // connection; other processes are covered below with real child processes.
    async sibling(of) {
      return of;
    },
  });
});

const writer = fileURLToPath(new URL('./fixtures/sqlite-writer.ts', import.meta.url));

function spawnWriter(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, ...args], { stdio: 'pipe' });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  return {
    child,
    async nextLine(): Promise<string> {
      const { value, done } = await iterator.next();
      if (done) throw new Error(`writer exited before answering: ${stderr}`);
      return value;
    },
  };
}

describe('SQLite ledger across processes', () => {
  it('two processes accepting the same callbackId at once make one row and one job', async () => {
    const { store, file } = openFresh();
    await store.migrate();
    const a = spawnWriter(['race', file, '25', 'cb-shared']);
    const b = spawnWriter(['race', file, '25', 'cb-shared']);
    expect(await a.nextLine()).toBe('ready');
    expect(await b.nextLine()).toBe('ready');
    a.child.stdin.write('go\n');
    b.child.stdin.write('go\n');
    const outcomes = [...JSON.parse(await a.nextLine()), ...JSON.parse(await b.nextLine())] as string[];
    expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'replayed')).toHaveLength(49);
    expect((await store.list('tenant-x', {}, null, 10)).items).toHaveLength(1);
    expect(await store.leaseJobs('submit', 'w', 10, 1000, Date.parse('2030-01-02T00:00:00Z'))).toHaveLength(
      1,
    );
  });

  it('every accept a process acknowledged is there after the process is SIGKILLed mid-stream', async () => {
    const { file } = openFresh();
    const w = spawnWriter(['stream', file]);
    const acked: string[] = [];
    while (acked.length < 60) {
      const line = await w.nextLine();
      acked.push(line.replace(/^ack /, ''));
    }
    w.child.kill('SIGKILL');
    await new Promise((resolve) => w.child.once('exit', resolve));

    const check = new Database(file, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    const reopened = openSqliteStore(file);
    opened.push(reopened);
    await reopened.migrate();
    for (const id of acked) {
      const cb = await reopened.get('tenant-x', id);
      expect(cb?.status, id).toBe('accepted');
      expect(cb?.history).toHaveLength(1);
    }
  });
});

describe('SQLite connection settings', () => {
  it('opens in WAL mode with durable (FULL) commits, foreign keys and a busy timeout', async () => {
    const { store, file } = openFresh();
    await store.migrate();
    const raw = new Database(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const kysely = (store as unknown as { kysely: import('kysely').Kysely<unknown> }).kysely;
    const { sql } = await import('kysely');
    const pragma = async (name: string) =>
      Object.values((await sql.raw(`pragma ${name}`).execute(kysely)).rows[0] as object)[0];
    expect(await pragma('synchronous')).toBe(2);
    expect(await pragma('foreign_keys')).toBe(1);
    expect(await pragma('busy_timeout')).toBe(5000);
  });
});

describe('SQLite query plans (they keep list and tracking fast on a million rows)', () => {
  it('list, tracking and leasing queries search an index, with no full scan and no sort of all matches', async () => {
    const file = join(dir, `ledger-${++n}.db`);
    const captured: { sql: string; parameters: readonly unknown[] }[] = [];
    const store = openSqliteStore(file, {
      log: (e) => {
        if (e.level === 'query') captured.push({ sql: e.query.sql, parameters: e.query.parameters });
      },
    });
    opened.push(store);
    await store.migrate();
    const raw = new Database(file, { readonly: true });
    const plan = async (run: () => Promise<unknown>) => {
      captured.length = 0;
      await run();
      return captured
        .map((q) =>
          (raw.prepare(`explain query plan ${q.sql}`).all(...q.parameters) as { detail: string }[])
            .map((r) => r.detail)
            .join(' | '),
        )
        .join(' || ');
    };
    const T = Date.parse('2030-01-01T00:00:00Z');
    const paged = [
      () => store.list('t', {}, null, 50),
      () => store.list('t', {}, 1000, 50),
      () => store.list('t', { status: 'pending' }, 1000, 50),
      () => store.list('t', { queueId: 'q' }, 1000, 50),
      () => store.listNonTerminal(1000, 50),
    ];
    for (const run of paged) {
      const p = await plan(run);
      expect(p).toMatch(/USING (INDEX|INTEGER PRIMARY KEY)/);
      expect(p).not.toMatch(/SCAN callbacks($| )(?!USING)/);
      expect(p).not.toContain('TEMP B-TREE');
    }
    const tracking = await plan(() => store.listTrackable(T, T - 60_000, 100));
    expect(tracking).toContain('SEARCH callbacks USING INDEX callbacks_tracked_due');
    expect(tracking).toContain('SEARCH callbacks USING INDEX callbacks_tracked_changed');
    expect(tracking).not.toMatch(/SCAN callbacks/);
    expect(await plan(() => store.get('t', 'cb'))).toContain('USING INDEX sqlite_autoindex_callbacks_1');
    expect(await plan(() => store.leaseJobs('submit', 'w', 10, 1000, T))).toContain('USING INDEX jobs_due');
    expect(await plan(() => store.leaseOutbox('webhook', 10, 1000, T))).toContain('USING INDEX outbox_due');
    raw.close();
  });
});
