/** Runs the BUILT CLI (dist/cli/main.js) as a child process; builds it first when src is newer. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = join(ROOT, 'dist/cli/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** `npm test` builds before testing; a bare `vitest run` builds here when dist is missing or stale. */
export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(MAIN).mtimeMs;
  } catch {}
  if (built > 0 && built >= newestMtime(join(ROOT, 'src'))) return;
  // One build at a time across parallel test files (flock serializes; the second finds it fresh).
  execFileSync(
    'flock',
    [join(tmpdir(), 'callbackd-test-build.lock'), 'npx', 'tsc', '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function startCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string } = {},
): ChildProcess {
  const env: Record<string, string | undefined> = {
    ...process.env,
    CALLBACKD_LOG_LEVEL: 'warn',
    ...opts.env,
  };
  for (const name of [
    'GENESYS_REGION',
    'GENESYS_BASE_URL',
    'GENESYS_CLIENT_ID',
    'GENESYS_CLIENT_SECRET',
    'CALLBACKD_CONFIG',
    'PORT',
  ]) {
    if (!(opts.env && name in opts.env)) delete env[name];
  }
  return spawn(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function runCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = startCli(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  child.stdin!.end(opts.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`callbackd ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, opts.timeoutMs ?? 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

/** Resolves with the first stdout line matching `pattern` (and everything read so far). */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<{ match: RegExpMatchArray; output: string }> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern} in:\n${output}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = output.match(pattern);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve({ match, output });
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before a line matching ${pattern}:\n${output}`));
    });
  });
}
