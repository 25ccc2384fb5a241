/** SQLite takes one process per ledger file: a second `callbackd serve` on it is refused at start-up. */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, startCli, waitForLine } from '../cli/support.js';

describe('one serve per SQLite ledger file', () => {
  let dir: string;
  const running: ChildProcess[] = [];

  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'callbackd-sqlite-guard-'));
  });
  afterAll(async () => {
    for (const child of running)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const serve = (db: string) => {
    const child = startCli(['serve', '--port', '0'], { cwd: dir, env: { CALLBACKD_DB: db } });
    running.push(child);
    return child;
  };

  it('refuses a second serve on the same file, pointing at PostgreSQL, and lets one start once the first is killed', async () => {
    const db = join(dir, 'ledger.db');
    const first = serve(db);
    await waitForLine(first, /listening on (http:\/\/\S+)\n/, 30_000);

    const second = await runCli(['serve', '--port', '0'], {
      cwd: dir,
      env: { CALLBACKD_DB: db },
      timeoutMs: 30_000,
    });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('already using the SQLite ledger');
    expect(second.stderr).toContain('PostgreSQL');
    expect(second.stdout).not.toMatch(/listening on/);

    // One-shot commands still run next to the serve.
    const key = await runCli(['keys', 'create', '--tenant', 't1', '--scopes', 'all', '--json'], {
      cwd: dir,
      env: { CALLBACKD_DB: db },
    });
    expect(key.code).toBe(0);

    // SIGKILL runs no shutdown code: the operating system drops the lock with the process.
    first.kill('SIGKILL');
    await once(first, 'exit');
    const third = serve(db);
    await waitForLine(third, /listening on (http:\/\/\S+)\n/, 30_000);
  });

  it('lets serves on different files run side by side', async () => {
    const a = serve(join(dir, 'a.db'));
    const b = serve(join(dir, 'b.db'));
    await Promise.all([a, b].map((c) => waitForLine(c, /listening on (http:\/\/\S+)\n/, 30_000)));
  });
});
