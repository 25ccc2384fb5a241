/**
 * Shared plumbing for the benchmarks: statistics, child processes (the built CLI, helper
 * scripts), memory readings from /proc, and the one report format every benchmark prints and
 * writes to bench/results/<name>.json.
 *
 * The machine is small and shared, so a benchmark compares inside one run and reports medians
 * and ratios; absolute times are printed for context only.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** The benchmarks measure the compiled dist/: refuse to run against a missing build. */
export function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(
      `${CLI} is missing: run \`npm run build\` first (the benchmarks measure the built dist/)`,
    );
  }
}

// ---- statistics -------------------------------------------------------------------------

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export interface Distribution {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// ---- reporting --------------------------------------------------------------------------

export interface Check {
  /** What was measured, e.g. "callbackd rate ÷ baseline rate". */
  what: string;
  measured: number;
  unit: string;
  /** Human form of the target, e.g. "≥ 0.8". */
  target: string;
  /** measured ÷ target bound (or the bound ÷ measured for "at most" targets): ≥ 1 meets it. */
  ratio: number;
  pass: boolean;
}

/** A check of the form measured ≥ min. */
export function atLeast(what: string, measured: number, min: number, unit = ''): Check {
  return {
    what,
    measured: round(measured, 3),
    unit,
    target: `≥ ${min}${unit ? ` ${unit}` : ''}`,
    ratio: round(measured / min, 3),
    pass: measured >= min,
  };
}

/** A check of the form measured < max (or ≤ max when inclusive). */
export function atMost(what: string, measured: number, max: number, unit = '', inclusive = false): Check {
  return {
    what,
    measured: round(measured, 3),
    unit,
    target: `${inclusive ? '≤' : '<'} ${max}${unit ? ` ${unit}` : ''}`,
    ratio: round(measured === 0 ? Number.POSITIVE_INFINITY : max / measured, 3),
    pass: inclusive ? measured <= max : measured < max,
  };
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  /** 1-minute load average when the benchmark started and ended (others share this machine). */
  loadAvgStart: number;
  loadAvgEnd?: number;
  node: string;
  startedAt: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAvgStart: round(loadavg()[0] ?? 0),
    node: process.version,
    startedAt: new Date().toISOString(),
  };
}

export interface BenchResult {
  name: string;
  machine: MachineInfo;
  /** How the run was set up (sizes, durations, what was simulated and how). */
  method: Record<string, unknown>;
  /** Everything measured. */
  measured: Record<string, unknown>;
  checks: Check[];
  summary: string;
  durationSeconds: number;
}

export function checkLine(c: Check): string {
  const unit = c.unit ? ` ${c.unit}` : '';
  return `${c.pass ? 'PASS' : 'SHORT'}  ${c.what}: ${c.measured}${unit} (target ${c.target}; ratio ${Number.isFinite(c.ratio) ? c.ratio : '∞'})`;
}

/** Prints the checks and the one-line summary, and writes bench/results/<name>.json. */
export function finish(
  result: Omit<BenchResult, 'machine' | 'durationSeconds'>,
  started: {
    machine: MachineInfo;
    atMs: number;
  },
): BenchResult {
  const full: BenchResult = {
    ...result,
    machine: { ...started.machine, loadAvgEnd: round(loadavg()[0] ?? 0) },
    durationSeconds: round((performance.now() - started.atMs) / 1000, 1),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.name}.json`);
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  log('');
  for (const c of full.checks) log(checkLine(c));
  log(`summary: ${full.summary}`);
  log(
    `(results in ${file}; ${full.durationSeconds} s; load average ${full.machine.loadAvgStart} → ${full.machine.loadAvgEnd} on ${full.machine.cpus} cores)`,
  );
  return full;
}

export function start(name: string): { machine: MachineInfo; atMs: number } {
  assertBuilt();
  const machine = machineInfo();
  log(`== ${name} (node ${machine.node}, ${machine.cpus} cores, load ${machine.loadAvgStart}) ==`);
  return { machine, atMs: performance.now() };
}

export function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

// ---- temp dirs and memory ---------------------------------------------------------------

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `callbackd-bench-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Resident set size now and its high-water mark, in MB, from /proc/<pid>/status (Linux). */
export function procMemoryMb(pid: number = process.pid): { rssMb: number; hwmMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMb: round(kb('VmRSS') / 1024, 1), hwmMb: round(kb('VmHWM') / 1024, 1) };
  } catch {
    return null;
  }
}

// ---- child processes --------------------------------------------------------------------

const children = new Set<ChildProcess>();
process.once('exit', () => {
  // A benchmark that throws must not leave servers behind: kill exactly the children it started.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Every stdout line so far. */
  lines: string[];
  /** The readiness pattern's match. */
  ready: RegExpExecArray;
  /** First match of a pattern in stdout so far. */
  find(pattern: RegExp): RegExpExecArray | null;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

export interface StartChildOptions {
  args: string[];
  env?: Record<string, string | undefined>;
  /** stdout line that says the child is ready. */
  ready: RegExp;
  timeoutMs?: number;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  cwd?: string;
  /** Label for error messages. */
  name: string;
}

/** Starts `node [flags] <args>` and resolves once stdout shows `ready`. */
export function startChild(opts: StartChildOptions): Promise<Child> {
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), ...opts.args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  const lines: string[] = [];
  const errLines: string[] = [];
  let buffered = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  exited.then(() => children.delete(proc));

  return new Promise<Child>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      proc.kill('SIGKILL');
      reject(
        new Error(
          `${opts.name} did not print ${opts.ready} within ${opts.timeoutMs ?? 30_000} ms; stderr: ${errLines.slice(-5).join(' | ')}`,
        ),
      );
    }, opts.timeoutMs ?? 30_000);
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      errLines.push(...chunk.split('\n').filter(Boolean));
      if (errLines.length > 200) errLines.splice(0, errLines.length - 200);
    });
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        // Keep memory bounded: a long-running child (info logs) may print a lot.
        if (lines.length < 5_000) lines.push(line);
        if (settled) continue;
        const m = opts.ready.exec(line);
        if (m) {
          settled = true;
          clearTimeout(timer);
          resolve({
            proc,
            pid: proc.pid!,
            lines,
            ready: m,
            find: (pattern) => {
              for (const l of lines) {
                const hit = pattern.exec(l);
                if (hit) return hit;
              }
              return null;
            },
            stop: async (graceMs = 10_000) => {
              if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
              proc.kill('SIGTERM');
              const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
              const code = await exited;
              clearTimeout(killer);
              return code;
            },
          });
        }
      }
    });
    proc.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(
        new Error(
          `${opts.name} exited (${code ?? signal}) before it was ready; stderr: ${errLines.slice(-10).join(' | ')}`,
        ),
      );
    });
  });
}

/** Runs `node <args>` to completion and returns its stdout (throws on a non-zero exit). */
export function runNode(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(proc);
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    proc.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(proc);
      if (code === 0) resolve(out);
      else reject(new Error(`node ${args.join(' ')} failed (${code ?? signal}): ${err.trim().slice(-800)}`));
    });
  });
}

/** Node flags that run a TypeScript helper script through tsx. */
export const TSX = ['--import', 'tsx'];

/** True when this module is the script node was started with. */
export function isMain(importMetaUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(importMetaUrl) === process.argv[1];
}

/** Reads a positive number from the environment (benchmark knobs), else the default. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A small seeded PRNG (mulberry32): workloads are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

let clockTicksPerSecond: number | undefined;

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat (Linux). */
export function cpuTimeMs(pid: number): number | null {
  try {
    clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / clockTicksPerSecond;
  } catch {
    return null;
  }
}
