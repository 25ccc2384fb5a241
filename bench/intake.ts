/**
 * Benchmark 1, intake: sustained POST rate and latency of `callbackd serve` (built dist, fresh
 * SQLite ledger, engine workers running, the simulator in its own process as "the platform")
 * against a baseline measured in the same run: a bare Fastify server inserting one row per
 * request into better-sqlite3 with the same pragmas (bench/lib/baseline-server.ts).
 *
 * Load comes from this process with autocannon; each server is a child process. Every request
 * carries a unique callbackId. Rounds alternate which server goes first, and medians are reported.
 *
 * Targets: callbackd ≥ 0.8 × the baseline's peak rate; callbackd p99 < 20 ms at half its own peak.
 *
 *   npm run build && npx tsx bench/intake.ts
 *   knobs: BENCH_INTAKE_SECONDS (8), BENCH_INTAKE_ROUNDS (3), BENCH_INTAKE_CONNECTIONS (32),
 *          BENCH_PROFILE=1 (CPU-profile callbackd even when it meets the target),
 *          BENCH_INTAKE_API_ONLY=1 (also measure callbackd's API with the engine workers off:
 *          what the submitter and tracker in the same process cost the API)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import {
  atLeast,
  atMost,
  type Child,
  CLI,
  cpuTimeMs,
  distribution,
  envNumber,
  finish,
  isMain,
  log,
  median,
  procMemoryMb,
  round,
  runNode,
  start,
  startChild,
  TSX,
  tempDir,
} from './lib/common.js';
import { latestProfile, type ProfileSummary, summarizeProfile } from './lib/cpu-profile.js';

const PATH = '/api/v2/routing/callbacks';
const DEMO_CLIENT_ID = 'callbackd-demo';
const DEMO_CLIENT_SECRET = 'demo-secret-not-for-production';

/** Two days ahead at 18:00 UTC: inside Support's hours and the demo customer's calling window. */
function scheduledTime(): string {
  const d = new Date(Date.now() + 2 * 86_400_000);
  d.setUTCHours(18, 0, 0, 0);
  return d.toISOString();
}

/** The guide's example body with a unique callbackId. */
function bodyTemplate(): (callbackId: string) => string {
  const when = scheduledTime();
  return (callbackId) =>
    JSON.stringify({
      callbackId,
      callbackNumber: '+14155552671',
      callbackFrom: '+18005551234',
      callbackTo: '+18005551234',
      scheduledTime: when,
      timeout: 300,
      routingData: {
        queueId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
        priority: 5,
        wrapUpCode: 'PROGRAMMATIC_CALLBACK',
      },
      mediaType: 'voice',
      customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
    });
}

/**
 * How long one durable SQLite commit (WAL, synchronous = FULL) takes on this disk right now: the
 * floor under any accept's latency. Context for the latency figures, not a target.
 */
function commitLatencyMs(dir: string): { p50: number; p99: number } {
  const db = new Database(join(dir, 'commit-probe.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('create table t (id integer primary key, v text)');
  const insert = db.prepare('insert into t (v) values (?)');
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    insert.run('x'.repeat(400));
    times.push(performance.now() - t);
  }
  db.close();
  const d = distribution(times);
  return { p50: round(d.p50, 2), p99: round(d.p99, 2) };
}

interface Target {
  /** baseline, callbackd, or callbackd-api (workers off; BENCH_INTAKE_API_ONLY=1). */
  name: string;
  /** The server process, for its CPU time. */
  pid: number;
  url: string;
  headers: Record<string, string>;
}

interface LoadResult {
  /** 2xx answers per second over the run. */
  rate: number;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** Server CPU time (user + system) per 2xx answer during the run; callbackd's includes its engine workers. */
  cpuMsPerRequest: number | undefined;
  /** callbackd only: its own view of the run, from /metrics. */
  server?: ServerSide;
}

interface ServerSide {
  /** Event-loop delay during the run (prom-client samples every 10 ms: an idle loop reads ≈ 10 ms). */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  /** POSTs answered during the run, and the share whose server-side time (Fastify) exceeded 10 and 25 ms. */
  posts: number;
  over10msPercent: number;
  over25msPercent: number;
}

interface Scrape {
  lagP99Ms: number;
  lagMaxMs: number;
  /** Cumulative POST duration histogram: le → count. */
  buckets: Map<string, number>;
}

/**
 * callbackd's own view from /metrics: the event-loop delay histogram resets on each scrape (so a
 * scrape after a run covers that run) and the request-duration histogram is cumulative (so the
 * difference of two scrapes covers it).
 */
async function scrape(url: string): Promise<Scrape> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const gauge = (name: string) =>
    Number(new RegExp(`^(?:\\w+_)?${name} ([0-9.eE+-]+)$`, 'm').exec(text)?.[1]) * 1000;
  const buckets = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('callbackd_http_request_duration_seconds_bucket{')) continue;
    if (!line.includes('method="POST"') || !line.includes('route="/api/v2/routing/callbacks"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const count = Number(line.split(' ').at(-1));
    if (le) buckets.set(le, count);
  }
  return {
    lagP99Ms: round(gauge('nodejs_eventloop_lag_p99_seconds'), 1),
    lagMaxMs: round(gauge('nodejs_eventloop_lag_max_seconds'), 1),
    buckets,
  };
}

function serverSide(before: Scrape, after: Scrape): ServerSide {
  const delta = (le: string) => (after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0);
  const posts = delta('+Inf');
  const share = (le: string) => round((100 * (posts - delta(le))) / Math.max(1, posts), 2);
  return {
    eventLoopDelayP99Ms: after.lagP99Ms,
    eventLoopDelayMaxMs: after.lagMaxMs,
    posts,
    over10msPercent: share('0.01'),
    over25msPercent: share('0.025'),
  };
}

async function load(
  target: Target,
  label: string,
  opts: { seconds: number; connections: number; overallRate?: number },
): Promise<LoadResult> {
  const body = bodyTemplate();
  let n = 0;
  const prefix = `bench-${label}`;
  const cpuBefore = cpuTimeMs(target.pid);
  const result = await autocannon({
    url: target.url + PATH,
    connections: opts.connections,
    duration: opts.seconds,
    ...(opts.overallRate ? { overallRate: Math.max(1, Math.round(opts.overallRate)) } : {}),
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        setupRequest: (req) => ({ ...req, body: body(`${prefix}-${++n}`) }),
      },
    ],
  });
  const seconds = result.duration;
  const cpuAfter = cpuTimeMs(target.pid);
  return {
    cpuMsPerRequest:
      cpuBefore === null || cpuAfter === null
        ? undefined
        : round((cpuAfter - cpuBefore) / Math.max(1, result['2xx']), 3),
    rate: round(result['2xx'] / seconds, 1),
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    seconds: round(seconds, 2),
  };
}

async function checkOnce(target: Target): Promise<void> {
  const res = await fetch(target.url + PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: bodyTemplate()(`bench-probe-${target.name}`),
  });
  if (res.status !== 201) {
    throw new Error(
      `${target.name} answered ${res.status} to the probe request: ${(await res.text()).slice(0, 500)}`,
    );
  }
}

function fmt(r: LoadResult): string {
  const bad = r.non2xx + r.errors > 0 ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : '';
  return `${r.rate} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${bad}`;
}

interface Servers {
  sim: Child;
  serve: Child;
  baseline: Child;
  apiOnly: Child | null;
  callbackd: Target;
  base: Target;
  /** Every target, in the order of the first round. */
  targets: Target[];
  pragmas: string;
  ledgerPragmas: string;
}

async function startServe(
  dir: string,
  simUrl: string,
  name: string,
  nodeFlags: string[] = [],
  apiOnly = false,
): Promise<{ serve: Child; target: Target }> {
  const ledger = join(dir, `${name}.db`);
  const config = join(dir, 'bench-config.yaml');
  // The per-key intake limit (600/min by default) would measure the limiter, not the service.
  writeFileSync(config, 'intake:\n  requestsPerMinutePerKey: 100000000\n');
  const env = {
    CALLBACKD_DB: ledger,
    GENESYS_BASE_URL: simUrl,
    GENESYS_CLIENT_ID: DEMO_CLIENT_ID,
    GENESYS_CLIENT_SECRET: DEMO_CLIENT_SECRET,
  };
  const key = (
    await runNode([CLI, 'keys', 'create', '--tenant', 'demo', '--scopes', 'all', '--config', config], env)
  ).trim();
  const serve = await startChild({
    name: apiOnly ? 'callbackd API without workers' : 'callbackd serve',
    args: apiOnly
      ? ['bench/lib/serve-api-only.ts', config]
      : [CLI, 'serve', '--config', config, '--port', '0'],
    env,
    nodeFlags: apiOnly ? [...TSX, ...nodeFlags] : nodeFlags,
    ready: /^listening on (http:\/\/\S+)/,
  });
  return {
    serve,
    target: {
      name: apiOnly ? 'callbackd-api' : 'callbackd',
      url: serve.ready[1]!,
      pid: serve.pid,
      headers: { authorization: `Bearer ${key}` },
    },
  };
}

async function startServers(dir: string, apiOnly: boolean): Promise<Servers> {
  const sim = await startChild({
    name: 'simulator',
    args: [CLI, 'sim', '--port', '0'],
    ready: /simulator listening on (http:\/\/\S+)/,
  });
  const { serve, target: callbackd } = await startServe(dir, sim.ready[1]!, 'callbackd');
  const baseline = await startChild({
    name: 'baseline server',
    nodeFlags: TSX,
    args: ['bench/lib/baseline-server.ts', join(dir, 'baseline.db')],
    ready: /^listening on (http:\/\/\S+)/,
  });
  const pragmas = baseline.find(/^pragmas: (.*)$/)?.[1] ?? 'unknown';
  const base: Target = { name: 'baseline', url: baseline.ready[1]!, pid: baseline.pid, headers: {} };
  const api = apiOnly ? await startServe(dir, sim.ready[1]!, 'callbackd-api', [], true) : null;
  return {
    sim,
    serve,
    baseline,
    apiOnly: api?.serve ?? null,
    callbackd,
    base,
    targets: [base, callbackd, ...(api ? [api.target] : [])],
    pragmas,
    ledgerPragmas:
      'journal_mode=wal synchronous=2 (FULL), foreign_keys=ON, busy_timeout=5000, BEGIN IMMEDIATE, group commit of concurrent accepts',
  };
}

/** A short CPU profile of callbackd serve under peak load, on its own fresh ledger. */
async function profileServe(dir: string, simUrl: string, seconds: number, connections: number) {
  const profDir = join(dir, 'profile');
  mkdirSync(profDir, { recursive: true });
  const spawnedAt = performance.now();
  const { serve, target } = await startServe(dir, simUrl, 'profiled', [
    '--cpu-prof',
    `--cpu-prof-dir=${profDir}`,
  ]);
  let loadStartMs = 0;
  try {
    await load(target, 'profile-warmup', { seconds: 2, connections });
    loadStartMs = performance.now() - spawnedAt;
    await load(target, 'profile', { seconds, connections });
  } finally {
    await serve.stop(15_000);
  }
  const file = latestProfile(profDir);
  // Start-up and the warm-up are left out: the profile covers the measured load (and shutdown).
  return file ? summarizeProfile(file, 15, loadStartMs) : undefined;
}

export async function run(): Promise<void> {
  const started = start('intake');
  const seconds = envNumber('BENCH_INTAKE_SECONDS', 8);
  const rounds = envNumber('BENCH_INTAKE_ROUNDS', 3);
  const connections = envNumber('BENCH_INTAKE_CONNECTIONS', 32);
  const dir = tempDir('intake');
  const apiOnly = process.env.BENCH_INTAKE_API_ONLY === '1';
  const s = await startServers(dir.path, apiOnly);
  // Each round rotates who goes first, so no target always runs on the same side of a noisy spell.
  const orderOf = (r: number) => s.targets.map((_, i) => s.targets[(i + r) % s.targets.length]!);
  let profile: ProfileSummary | undefined;
  try {
    log(`baseline pragmas: ${s.pragmas}; callbackd ledger: ${s.ledgerPragmas}`);
    const commitBefore = commitLatencyMs(dir.path);
    log(`one durable SQLite commit on this disk now: p50 ${commitBefore.p50} ms, p99 ${commitBefore.p99} ms`);
    for (const t of s.targets) await checkOnce(t);
    // Warm every target up (JIT, SQLite page cache), results discarded.
    for (const t of s.targets) await load(t, `warmup-${t.name}`, { seconds: 3, connections });

    const peaks: Record<string, LoadResult[]> = Object.fromEntries(s.targets.map((t) => [t.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const t of orderOf(r)) {
        const res = await load(t, `peak-${r}-${t.name}`, { seconds, connections });
        peaks[t.name]!.push(res);
        log(`round ${r + 1} peak      ${t.name.padEnd(13)} ${fmt(res)}`);
      }
    }
    const peakRate: Record<string, number> = Object.fromEntries(
      s.targets.map((t) => [t.name, median(peaks[t.name]!.map((p) => p.rate))]),
    );

    const halves: Record<string, LoadResult[]> = Object.fromEntries(s.targets.map((t) => [t.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const t of orderOf(r)) {
        // callbackd's /metrics resets its event-loop delay histogram on each scrape: scrape before
        // and after, and the second one covers exactly this run.
        const before = t.name.startsWith('callbackd') ? await scrape(t.url) : undefined;
        const res = await load(t, `half-${r}-${t.name}`, {
          seconds,
          connections,
          overallRate: peakRate[t.name]! / 2,
        });
        if (before) res.server = serverSide(before, await scrape(t.url));
        halves[t.name]!.push(res);
        const lag = res.server
          ? `; server side: ${res.server.over10msPercent}% > 10 ms, ${res.server.over25msPercent}% > 25 ms, event-loop delay p99 ${res.server.eventLoopDelayP99Ms} ms, max ${res.server.eventLoopDelayMaxMs} ms`
          : '';
        log(
          `round ${r + 1} half-peak ${t.name.padEnd(13)} ${fmt(res)} (asked ${round(peakRate[t.name]! / 2, 0)} req/s)${lag}`,
        );
      }
    }
    const serveMemory = procMemoryMb(s.serve.pid);

    const summarize = (rs: LoadResult[]) => ({
      rate: median(rs.map((x) => x.rate)),
      p50: median(rs.map((x) => x.p50)),
      p99: median(rs.map((x) => x.p99)),
      non2xx: rs.reduce((a, x) => a + x.non2xx, 0),
      cpuMsPerRequest: median(
        rs.flatMap((x) => (x.cpuMsPerRequest === undefined ? [] : [x.cpuMsPerRequest])),
      ),
      serverOver25msPercent: rs.some((x) => x.server)
        ? median(rs.flatMap((x) => (x.server ? [x.server.over25msPercent] : [])))
        : undefined,
      eventLoopDelayP99Ms: rs.some((x) => x.server)
        ? median(rs.flatMap((x) => (x.server ? [x.server.eventLoopDelayP99Ms] : [])))
        : undefined,
      errors: rs.reduce((a, x) => a + x.errors, 0),
      runs: rs,
    });
    const byTarget = (runs: Record<string, LoadResult[]>) =>
      Object.fromEntries(Object.entries(runs).map(([name, rs]) => [name, summarize(rs)]));
    const peakOf = byTarget(peaks);
    const halfOf = byTarget(halves);
    const cbPeaks = peaks.callbackd!;
    const basePeaks = peaks.baseline!;
    const measured = {
      peak: peakOf as Record<string, ReturnType<typeof summarize>> & {
        baseline: ReturnType<typeof summarize>;
        callbackd: ReturnType<typeof summarize>;
      },
      halfPeak: halfOf as Record<string, ReturnType<typeof summarize>> & {
        baseline: ReturnType<typeof summarize>;
        callbackd: ReturnType<typeof summarize>;
      },
      rateRatio: round(peakRate.callbackd! / peakRate.baseline!, 3),
      /** callbackd ÷ baseline within each round (the two ran back to back), and their median. */
      roundRatios: cbPeaks.map((c, i) => round(c.rate / (basePeaks[i]?.rate ?? Number.NaN), 3)),
      roundRatioMedian: median(cbPeaks.map((c, i) => c.rate / (basePeaks[i]?.rate ?? Number.NaN))),
      /**
       * Baseline CPU per request ÷ callbackd's: the rate ratio to expect when both are CPU-bound
       * (less sensitive to the neighbours' load than the rates themselves).
       */
      cpuCostRatio: round(peakOf.baseline!.cpuMsPerRequest / peakOf.callbackd!.cpuMsPerRequest, 3),
      apiOnlyRateRatio: peakRate['callbackd-api']
        ? round(peakRate['callbackd-api'] / peakRate.baseline!, 3)
        : undefined,
      callbackdServeMemoryMb: serveMemory,
      sqliteCommitMs: commitBefore,
      profile: undefined as ProfileSummary | undefined,
    };
    const ratioCheck = atLeast('callbackd peak rate ÷ baseline peak rate', measured.rateRatio, 0.8, '×');
    const p99Check = atMost('callbackd p99 at half its peak rate', measured.halfPeak.callbackd.p99, 20, 'ms');

    if (!ratioCheck.pass || !p99Check.pass || process.env.BENCH_PROFILE === '1') {
      log('profiling callbackd serve under peak load (node --cpu-prof)...');
      profile = await profileServe(dir.path, s.sim.ready[1]!, Math.min(seconds, 6), connections);
      measured.profile = profile;
      if (profile) {
        log(`where callbackd's CPU time goes (${profile.totalMs} ms sampled):`);
        for (const a of profile.areas.slice(0, 12)) log(`  ${String(a.share).padStart(5)}%  ${a.area}`);
        log('  top functions (self time):');
        for (const f of profile.functions.slice(0, 12))
          log(`  ${String(f.share).padStart(5)}%  ${f.fn}  ${f.where}`);
      }
    }

    log('');
    log(`peak (${connections} connections, ${seconds} s × ${rounds} rounds, medians):`);
    for (const t of s.targets) {
      const m = measured.peak[t.name]!;
      log(
        `  ${t.name.padEnd(13)} ${m.rate} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms; server CPU ${round(m.cpuMsPerRequest, 3)} ms per request`,
      );
    }
    log(
      `  callbackd ÷ baseline per round: ${measured.roundRatios.join(', ')} (median ${round(measured.roundRatioMedian, 3)}); CPU per request, baseline ÷ callbackd: ${measured.cpuCostRatio}`,
    );
    log("at half of each one's own peak (autocannon overallRate):");
    for (const t of s.targets) {
      const m = measured.halfPeak[t.name]!;
      const server =
        m.serverOver25msPercent === undefined
          ? ''
          : `; server side ${m.serverOver25msPercent}% of POSTs > 25 ms, event-loop delay p99 ${m.eventLoopDelayP99Ms} ms`;
      log(`  ${t.name.padEnd(13)} ${m.rate} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms${server}`);
    }

    finish(
      {
        name: 'intake',
        method: {
          load: 'autocannon in the benchmark process; servers are child processes; unique callbackId per request',
          connections,
          secondsPerRun: seconds,
          rounds,
          body: "the guide's example body (Support queue, customer CRM-998271), scheduled two days ahead",
          callbackd:
            'node dist/cli/main.js serve, fresh SQLite ledger, engine workers on, platform = simulator in a separate process (callbackd sim), intake limit raised to 1e8/min per key, default log level',
          baseline: `bare Fastify 5 + better-sqlite3, one autocommit insert per request, ${s.pragmas}`,
          ledgerPragmas: s.ledgerPragmas,
          latency: 'autocannon latency (send to last byte), not corrected for coordinated omission',
        },
        measured,
        checks: [ratioCheck, p99Check],
        summary: `intake: callbackd ${peakRate.callbackd} req/s vs baseline ${peakRate.baseline} req/s = ${measured.rateRatio}× (target ≥ 0.8×, ${ratioCheck.pass ? 'met' : 'SHORT'}); p99 at half peak ${measured.halfPeak.callbackd.p99} ms (target < 20 ms, ${p99Check.pass ? 'met' : 'SHORT'})`,
      },
      started,
    );
  } finally {
    await Promise.all([s.serve.stop(), s.baseline.stop(), s.apiOnly?.stop(), s.sim.stop()]);
    dir.remove();
  }
}

if (isMain(import.meta.url)) {
  run().catch((err) => {
    process.stderr.write(`intake benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
