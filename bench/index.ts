/**
 * `npm run bench`: runs every benchmark in sequence, each in its own process (so one's memory
 * or handles never colour the next), then prints a table of every check from
 * bench/results/<name>.json. Name benchmarks to run a subset: `npx tsx bench/index.ts intake scale`.
 *
 * Exits 1 when a benchmark crashed; a target that was not met is a finding, printed as SHORT.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, type BenchResult, log, RESULTS_DIR, ROOT, round, TSX } from './lib/common.js';

const BENCHMARKS = ['intake', 'platform-calls', 'rate-limit', 'scale', 'slots'] as const;

function runOne(name: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX, join('bench', `${name}.ts`)], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.once('exit', (code) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code);
    });
  });
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  assertBuilt();
  const asked = process.argv.slice(2);
  const unknown = asked.filter((a) => !(BENCHMARKS as readonly string[]).includes(a));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}`);
  }
  const selected = asked.length > 0 ? BENCHMARKS.filter((b) => asked.includes(b)) : [...BENCHMARKS];
  const started = performance.now();
  const crashed: string[] = [];
  for (const name of selected) {
    // A stale result must never pass for this run's.
    rmSync(join(RESULTS_DIR, `${name}.json`), { force: true });
    const code = await runOne(name);
    if (code !== 0) crashed.push(`${name} (exit ${code})`);
    log('');
  }

  const rows: string[][] = [['benchmark', 'check', 'measured', 'target', 'ratio', '']];
  const summaries: string[] = [];
  for (const name of selected) {
    const file = join(RESULTS_DIR, `${name}.json`);
    if (!existsSync(file)) {
      rows.push([name, '(no result: the benchmark failed)', '', '', '', 'FAILED']);
      continue;
    }
    const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
    summaries.push(result.summary);
    for (const c of result.checks) {
      rows.push([
        name,
        c.what,
        `${c.measured}${c.unit ? ` ${c.unit}` : ''}`,
        c.target,
        String(c.ratio ?? '∞'),
        c.pass ? 'met' : 'SHORT',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  log(
    `== benchmark summary (${round((performance.now() - started) / 60_000, 1)} min; ratio ≥ 1 meets the target) ==`,
  );
  for (const r of rows) log(r.map((cell, i) => pad(cell, widths[i]!)).join('  '));
  log('');
  for (const s of summaries) log(s);
  if (crashed.length > 0) {
    log(`crashed: ${crashed.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
