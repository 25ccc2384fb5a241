import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const built = `${root}dist/simulator/main.js`;
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Starts the entry point and resolves with its output once it says it is listening. */
function start(args: string[]): Promise<{ lines: string[]; ms: number; url: string }> {
  const t0 = Date.now();
  // The built entry is what `callbackd sim` runs; without a build, run the source through tsx.
  const argv = existsSync(built)
    ? [built, ...args]
    : ['--import', 'tsx', `${root}src/simulator/main.ts`, ...args];
  const proc = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /simulator listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ lines: out.split('\n'), ms: Date.now() - t0, url: m[1]! });
    });
    proc.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('the standalone simulator entry point', () => {
  it('prints the demo org and "simulator listening on <url>", and serves /sim/org there', async () => {
    const { lines, ms, url } = await start(['--port', '0']);
    if (existsSync(built)) expect(ms).toBeLessThan(2000);
    const text = lines.join('\n');
    expect(text).toContain('callbackd-demo');
    expect(text).toContain('a1b2c3d4-e5f6-7890-abcd-ef1234567890');
    expect(text).toContain('+18005551234');
    expect(text).toContain('CRM-998271');
    // No whole customer number in the output.
    expect(text).not.toContain('+14155552671');
    const org = (await (await fetch(`${url}/sim/org`)).json()) as { queues: { name: string }[] };
    expect(org.queues.map((q) => q.name)).toEqual(['Support', 'Billing']);
  });

  it('stops cleanly on SIGTERM', async () => {
    await start([]);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses an unknown argument with exit code 2', async () => {
    const proc = spawn(
      process.execPath,
      existsSync(built) ? [built, '--bogus'] : ['--import', 'tsx', `${root}src/simulator/main.ts`, '--bogus'],
      { cwd: root, stdio: 'ignore' },
    );
    child = proc;
    expect(await new Promise((resolve) => proc.once('exit', resolve))).toBe(2);
  });
});
