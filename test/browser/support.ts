/**
 * The browser suite's world: a real `callbackd serve` child in simulator mode (built CLI, SQLite
 * file, config file) and Debian's Chromium driven by playwright-core. Never downloads a browser.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { ensureBuilt, ROOT, startCli, waitForLine } from '../cli/support.js';

export const CHROMIUM = '/usr/bin/chromium';
export const RESULTS_DIR = join(ROOT, 'test-results');

/** The dashboard is bundled by `npm run build`; a bare `vitest run` builds it here when missing. */
export function ensureWebBuilt(): void {
  ensureBuilt();
  if (existsSync(join(ROOT, 'dist/web/index.html'))) return;
  execFileSync('flock', [join(tmpdir(), 'callbackd-test-build.lock'), 'npx', 'vite', 'build'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'],
  });
}

export interface Served {
  child: ChildProcess;
  url: string;
  simUrl: string;
  demoKey: string;
  output: () => string;
}

export async function startServe(cwd: string, env: Record<string, string>): Promise<Served> {
  mkdirSync(cwd, { recursive: true });
  const child = startCli(['serve', '--port', '0'], { cwd, env });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const { output: head } = await waitForLine(child, /listening on (http:\/\/\S+)/, 30_000);
  const url = /listening on (http:\/\/\S+)/.exec(head)![1]!;
  const simUrl = /simulator \(Genesys Cloud API and login\) at (http:\/\/\S+)/.exec(head)![1]!;
  const demoKey = /demo API key[^:]*: (cbk_\w+)/.exec(head)![1]!;
  return { child, url, simUrl, demoKey, output: () => output };
}

export async function stopServe(s: Served | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null) return;
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Polls `check` until it returns a value other than undefined (conditions, never fixed sleeps). */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
