/**
 * Chaos: many callback requests, a fifth of them duplicates (some sent concurrently) and a few
 * cancelled right after their 201, against a
 * `callbackd serve` that is SIGKILLed at random moments and restarted on the same SQLite file,
 * while the simulated platform fails 5% of creates each with a 5xx, a connection reset and
 * commit-then-no-answer, and answers 429 in storms. Clients retry every request that got no
 * answer with the same callbackId. After the engine drains, the audit (lib/ledger-check.ts) wants:
 * exactly one platform callback per accepted callbackId (or none and a final state with a
 * reason), no 201 missing from the ledger, no final state changed, history consistent with status.
 *
 * With `--ledger postgres --instances 3` (CALLBACKD_TEST_PG_URL or CALLBACKD_CHAOS_PG_URL names the
 * server) the same run meets a cluster: N serves on one PostgreSQL schema behind a client that
 * spreads requests across the live ones, a random instance SIGKILLed and restarted each time, and
 * a proxy timestamping every platform call, so the busiest sliding minute is checked against the
 * one budget (genesys.requestsPerMinute) the cluster shares.
 *
 *   npx tsx test/reliability/chaos/chaos.ts [--requests 2000] [--kills 12] [--seed 7] [--cancel-share 0.05] [--keep]
 *                                           [--ledger postgres --instances 3 --budget 1800]
 */
import { pathToFileURL } from 'node:url';
import { type Answer, RetryingClient } from './lib/client.js';
import { Cluster, type Customer, TENANT } from './lib/cluster.js';
import { type DrainTarget, type DrainWatcher, drainAndAudit } from './lib/drain.js';
import {
  type AuditCounts,
  describeViolations,
  FINAL,
  FinalStateWatcher,
  type LedgerSnapshot,
  type Violation,
} from './lib/ledger-check.js';
import { PgCluster } from './lib/pg-cluster.js';
import { delay, percentile, randomInt, round, seededRandom, tally, writeResults } from './lib/util.js';
import {
  type AnswerCounts,
  answerCounts,
  baseFaults,
  type CancelPlan,
  type LoadProgress,
  planWorkload,
  sendWorkload,
  setUpPlatform,
} from './lib/workload.js';

export interface ChaosOptions {
  requests: number;
  /** Share of the requests that repeat an earlier callbackId (identical body). */
  duplicateShare: number;
  /** Of the duplicates, the share sent at the same moment as their original. */
  concurrentShare: number;
  kills: number;
  /** A kill comes this long (uniform) after the serve is listening. */
  uptimeMs: { min: number; max: number };
  /** Client send rate (requests per second) and the most requests outstanding at once. */
  ratePerSecond: number;
  /** Requests released at once (so kills catch requests in flight). */
  burstSize: number;
  maxInFlight: number;
  /** Each callback is scheduled this long (uniform) after its first send. */
  leadMs: { min: number; max: number };
  /** Share of callbacks the carrier refuses, and that the platform refuses at create. */
  carrierRejectShare: number;
  refusedShare: number;
  /** Fault rates on creates: each kind at this rate. */
  createFaultRate: number;
  /** Fault rates on reads (lookups, tracking, capacity). */
  readFaultRate: number;
  /** 429 storms: one every `everyMs` (uniform), lasting `lengthMs`, refusing `rate` of all calls. */
  storms: {
    everyMs: { min: number; max: number };
    lengthMs: number;
    rate: number;
    retryAfterSeconds: number;
  };
  /** Share of callbacks cancelled (DELETE) this long after their 201; they are scheduled hours ahead. */
  cancelShare: number;
  cancelDelayMs: { min: number; max: number };
  drainTimeoutMs: number;
  requestDeadlineMs: number;
  seed: number;
  customers: number;
  /** Write bench/results/<name>.json. */
  resultsName?: string;
  keepDir?: boolean;
  log?: (line: string) => void;
  /** sqlite: one serve on a file; postgres: `instances` serves on one schema at `pgUrl`. */
  ledger: 'sqlite' | 'postgres';
  instances: number;
  pgUrl?: string;
  /** genesys.requestsPerMinute; postgres only (the SQLite run keeps the harness's unthrottled client). */
  requestsPerMinute: number;
}

export const CHAOS_FULL: ChaosOptions = {
  requests: 2_000,
  duplicateShare: 0.2,
  concurrentShare: 0.5,
  kills: 12,
  uptimeMs: { min: 1_000, max: 4_500 },
  ratePerSecond: 40,
  burstSize: 20,
  maxInFlight: 48,
  leadMs: { min: 12_000, max: 18_000 },
  carrierRejectShare: 0.04,
  refusedShare: 0.04,
  createFaultRate: 0.05,
  readFaultRate: 0.02,
  storms: { everyMs: { min: 3_000, max: 7_000 }, lengthMs: 1_200, rate: 0.7, retryAfterSeconds: 1 },
  cancelShare: 0.05,
  cancelDelayMs: { min: 0, max: 2_000 },
  drainTimeoutMs: 240_000,
  requestDeadlineMs: 60_000,
  seed: 20_240_615,
  customers: 200,
  resultsName: 'chaos',
  ledger: 'sqlite',
  instances: 1,
  requestsPerMinute: 1_800,
};

/** The short version inside `npm test`. */
export const CHAOS_SHORT: ChaosOptions = {
  ...CHAOS_FULL,
  requests: 200,
  kills: 3,
  uptimeMs: { min: 1_000, max: 2_000 },
  ratePerSecond: 40,
  burstSize: 10,
  maxInFlight: 32,
  leadMs: { min: 12_000, max: 16_000 },
  storms: { ...CHAOS_FULL.storms, everyMs: { min: 1_500, max: 3_000 }, lengthMs: 800 },
  drainTimeoutMs: 60_000,
  requestDeadlineMs: 30_000,
  customers: 50,
  resultsName: undefined,
};

/** The short cluster version inside `npm test` (when CALLBACKD_TEST_PG_URL is set). */
export const CLUSTER_CHAOS_SHORT: ChaosOptions = {
  ...CHAOS_SHORT,
  requests: 40,
  kills: 4,
  uptimeMs: { min: 1_500, max: 2_500 },
  ledger: 'postgres',
  instances: 3,
  // Below the ~200 platform calls the run makes: the budget binds, so three instances each
  // spending it alone would show in the busiest minute.
  requestsPerMinute: 150,
  drainTimeoutMs: 120_000,
};

export interface KillMoment {
  /** Requests answered when the kill came. */
  answered: number;
  byStatus: Record<string, number>;
  createsInFlight: number;
  leasedJobs: number;
}

export interface ChaosResult {
  name: 'chaos';
  ok: boolean;
  verdict: string;
  seed: number;
  params: Record<string, unknown>;
  requests: {
    sent: number;
    callbackIds: number;
    duplicates: number;
    concurrentDuplicates: number;
    laterDuplicates: number;
  } & AnswerCounts;
  /** Answers to the client's cancels, by HTTP status. */
  cancels: Record<string, number>;
  kills: number;
  /** The ledger right after each SIGKILL: what the kill interrupted. */
  killMoments: KillMoment[];
  restarts: number;
  /** Spawn to listening, per serve start: how long each restart left the API down. */
  restartMs: { p50: number; max: number };
  storms: number;
  platform: { calls: number; callsPerCallback: number; counters: Record<string, Record<string, number>> };
  /** Postgres runs: platform calls (proxy-counted) in the busiest sliding minute, against the budget. */
  budget?: { requestsPerMinute: number; busiestMinute: number; perMinute: number[] };
  instances: number;
  ledgerKind: 'sqlite' | 'postgres';
  ledger: AuditCounts;
  perCallbackId: { exactlyOne: number; noneWithFinalReason: number; moreThanOne: number };
  durationsMs: { load: number; drain: number; total: number };
  violations: Violation[];
  violationCount: number;
}

export async function runChaos(options: Partial<ChaosOptions> = {}): Promise<ChaosResult> {
  const o: ChaosOptions = { ...CHAOS_FULL, ...options };
  const log = o.log ?? (() => {});
  const random = seededRandom(o.seed);
  const startedAt = Date.now();
  const cluster = await startDeployment(o);
  const { sim } = cluster;
  const violations: Violation[] = [];
  const killMoments: KillMoment[] = [];
  let storms = 0;
  const client = new RetryingClient({
    target: () => cluster.nextUrl(),
    key: cluster.key,
    deadlineMs: o.requestDeadlineMs,
  });
  const watcher = cluster.watcher();
  try {
    const faults = baseFaults(o.createFaultRate, o.readFaultRate);
    setUpPlatform(sim, faults);
    await cluster.startAll();
    watcher.start();
    log(`chaos: ${cluster.describe()}`);

    const plan = planWorkload({ ...o, prefix: `chaos-${o.seed}` }, random, cluster.customers);
    const progress: LoadProgress = { answered: 0 };
    let loadDone = false;
    const stopStorms = new AbortController();

    // Killer: SIGKILL (a random instance of a cluster) at a random moment, restart it at once.
    const killer = (async () => {
      while (killMoments.length < o.kills) {
        await delay(randomInt(random, o.uptimeMs.min, o.uptimeMs.max));
        const victim = randomInt(random, 0, cluster.size - 1);
        await cluster.kill(victim);
        // What the kill interrupted, as the ledger shows it.
        const at = await cluster.ledgerSnapshot();
        killMoments.push({
          answered: progress.answered,
          byStatus: at.byStatus,
          createsInFlight: at.inFlight,
          leasedJobs: at.leasedJobs,
        });
        log(
          `chaos: SIGKILL ${killMoments.length}/${o.kills}${cluster.size > 1 ? ` of instance ${victim}` : ''} (${loadDone ? 'engine draining' : `${progress.answered} of ${o.requests} requests answered`}; ledger ${JSON.stringify(at.byStatus)}, ${at.inFlight} creates in flight, ${at.leasedJobs} jobs leased)`,
        );
        await cluster.startServe(victim);
      }
    })();

    // 429 storms on every platform endpoint, on top of the steady faults.
    const stormer = (async () => {
      while (!stopStorms.signal.aborted) {
        await delay(randomInt(random, o.storms.everyMs.min, o.storms.everyMs.max), stopStorms.signal);
        if (stopStorms.signal.aborted) break;
        sim.control.setFaults([
          {
            endpoint: '*',
            kind: 'error',
            status: 429,
            rate: o.storms.rate,
            retryAfterSeconds: o.storms.retryAfterSeconds,
          },
          ...faults,
        ]);
        storms++;
        await delay(o.storms.lengthMs);
        sim.control.setFaults(faults);
      }
    })();

    const loadStarted = Date.now();
    const cancels: CancelPlan = { delayMs: o.cancelDelayMs, random, answers: new Map() };
    const answers = await sendWorkload(plan, client, {
      ratePerSecond: o.ratePerSecond,
      burstSize: o.burstSize,
      maxInFlight: o.maxInFlight,
      progress,
      cancels,
    });
    loadDone = true;
    const loadMs = Date.now() - loadStarted;
    log(`chaos: all ${o.requests} requests answered in ${loadMs} ms; ${killMoments.length} kills so far`);
    await killer;
    stopStorms.abort();
    await stormer;
    sim.control.setFaults(faults);

    // Drain: the engine carries every callback to its end (the steady faults stay on). The
    // simulator's clock is pushed ahead so the platform dials and ends calls without waiting.
    // With cancels, the simulator stays within a minute of the wall clock: callbackd looks a
    // cancelled callback's stray platform callback up in a window of ±60 s around its own time.
    let advanceLeftMs = o.cancelShare > 0 ? 45_000 : Number.POSITIVE_INFINITY;
    const { drainMs, answered, audit } = await drainAndAudit({
      cluster,
      watcher,
      answers,
      requestDeadlineMs: o.requestDeadlineMs,
      drainTimeoutMs: o.drainTimeoutMs,
      advance: () => {
        const step = Math.min(5_000, advanceLeftMs);
        if (step > 0) sim.clock.advanceMs(step);
        advanceLeftMs -= step;
      },
      violations,
    });
    const cancelled = checkCancels(cancels.answers, await cluster.ledgerSnapshot(), violations);

    const calls = sim.control.requestCount();
    const budget = cluster.budgetCheck(startedAt, violations);
    const ledgerCount = audit.counts.ledgerCallbacks;
    const ok = violations.length === 0;
    const kills = killMoments.length;
    const result: ChaosResult = {
      name: 'chaos',
      ok,
      verdict: ok
        ? `PASS: ${ledgerCount} callbacks through ${kills} SIGKILLs and ${storms} 429 storms${cluster.size > 1 ? ` on ${cluster.size} instances` : ''} — none lost, none duplicated, no final state changed${budget ? `, busiest minute ${budget.busiestMinute} of ${budget.requestsPerMinute} platform calls` : ''}`
        : `FAIL: ${violations.length} violation(s) — ${describeViolations(violations, 2).join(' | ')}`,
      seed: o.seed,
      params: {
        requests: o.requests,
        duplicateShare: o.duplicateShare,
        concurrentShare: o.concurrentShare,
        kills: o.kills,
        uptimeMs: o.uptimeMs,
        ratePerSecond: o.ratePerSecond,
        burstSize: o.burstSize,
        maxInFlight: o.maxInFlight,
        leadMs: o.leadMs,
        createFaultRate: o.createFaultRate,
        readFaultRate: o.readFaultRate,
        storms: o.storms,
        ledger: o.ledger,
        instances: o.instances,
        ...(o.ledger === 'postgres' ? { requestsPerMinute: o.requestsPerMinute } : {}),
      },
      requests: {
        sent: o.requests,
        callbackIds: plan.planned.length,
        duplicates: plan.duplicates,
        concurrentDuplicates: plan.concurrent,
        laterDuplicates: plan.later,
        ...answerCounts(answered),
      },
      cancels: cancelled,
      kills,
      killMoments,
      restarts: cluster.serveGeneration - cluster.size,
      restartMs: {
        p50: percentile(cluster.startupsMs, 50),
        max: Math.max(...cluster.startupsMs),
      },
      storms,
      platform: {
        calls,
        callsPerCallback: round(calls / Math.max(1, ledgerCount)),
        counters: sim.control.counters(),
      },
      ...(budget ? { budget } : {}),
      instances: cluster.size,
      ledgerKind: o.ledger,
      ledger: audit.counts,
      perCallbackId: {
        exactlyOne: audit.counts.withOnePlatformCallback,
        noneWithFinalReason: audit.counts.withNoPlatformCallback,
        moreThanOne: audit.violations.filter((v) => v.kind === 'duplicate').length,
      },
      durationsMs: { load: loadMs, drain: drainMs, total: Date.now() - startedAt },
      violations: violations.slice(0, 200),
      violationCount: violations.length,
    };
    if (o.resultsName) writeResults(o.resultsName, { ...result, finishedAt: new Date().toISOString() });
    return result;
  } finally {
    watcher.stop();
    await client.close();
    await cluster.close();
  }
}

/**
 * A cancel answered 200 must end cancelled; one answered 409 must have ended otherwise; any
 * other answer (404 for an accepted callback, no answer) is a finding.
 */
function checkCancels(
  answers: Map<string, Answer>,
  ledger: LedgerSnapshot,
  violations: Violation[],
): Record<string, number> {
  const byStatus: Record<string, number> = {};
  if (answers.size === 0) return byStatus;
  const final = new Map(ledger.rows.map((r) => [r.callback_id, r.status]));
  for (const [id, a] of answers) {
    tally(byStatus, String(a.status));
    const status = final.get(id);
    for (const code of a.serverErrors) {
      violations.push({ kind: 'server-error', callbackId: id, detail: `cancel answered ${code}` });
    }
    if (a.status === 200 && status !== 'cancelled') {
      violations.push({
        kind: 'cancel',
        callbackId: id,
        detail: `cancel answered 200, final state ${status}`,
      });
    } else if (a.status === 409 && (status === 'cancelled' || !FINAL.has(status ?? ''))) {
      violations.push({
        kind: 'cancel',
        callbackId: id,
        detail: `cancel answered 409, final state ${status}`,
      });
    } else if (a.status !== 200 && a.status !== 409) {
      violations.push({ kind: 'cancel', callbackId: id, detail: `cancel answered ${a.status || 'nothing'}` });
    }
  }
  return byStatus;
}

/** One serve on SQLite or N on PostgreSQL, as the chaos run drives them. */
interface Deployment extends DrainTarget {
  readonly key: string;
  readonly customers: Customer[];
  readonly startupsMs: readonly number[];
  readonly serveGeneration: number;
  readonly size: number;
  nextUrl(): string | null;
  startAll(): Promise<void>;
  kill(i: number): Promise<void>;
  startServe(i: number): Promise<string>;
  watcher(): DrainWatcher & { start(): void };
  /** Postgres: the busiest sliding minute of platform calls since `from`, a violation when above the budget. */
  budgetCheck(from: number, violations: Violation[]): ChaosResult['budget'];
  close(): Promise<void>;
}

async function startDeployment(o: ChaosOptions): Promise<Deployment> {
  if (o.ledger === 'sqlite') {
    const c = await Cluster.start({
      customers: o.customers,
      seed: o.seed,
      ...(o.keepDir ? { keepDir: true } : {}),
    });
    // Bound before Object.assign shadows them with the indexed forms.
    const kill = c.kill.bind(c);
    const startServe = c.startServe.bind(c);
    return Object.assign(c, {
      size: 1,
      nextUrl: () => c.url,
      startAll: async () => {
        await startServe();
      },
      kill: () => kill(),
      startServe: () => startServe(),
      watcher: () => new FinalStateWatcher(() => c.dbPath, TENANT),
      budgetCheck: () => undefined,
    });
  }
  const pgUrl = o.pgUrl ?? process.env['CALLBACKD_CHAOS_PG_URL'] ?? process.env['CALLBACKD_TEST_PG_URL'];
  if (!pgUrl) {
    throw new Error(
      '--ledger postgres needs a server: set CALLBACKD_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
    );
  }
  const c = await PgCluster.start({
    pgUrl,
    instances: o.instances,
    customers: o.customers,
    seed: o.seed,
    requestsPerMinute: o.requestsPerMinute,
    ...(o.keepDir ? { keepDir: true } : {}),
  });
  return Object.assign(c, {
    budgetCheck: (from: number, violations: Violation[]) => {
      const busiest = c.proxy.busiestWindow(60_000, from);
      if (busiest.calls > o.requestsPerMinute) {
        violations.push({
          kind: 'budget',
          detail: `${busiest.calls} platform calls in the minute from ${new Date(busiest.startedAt).toISOString()}, budget ${o.requestsPerMinute}`,
        });
      }
      return {
        requestsPerMinute: o.requestsPerMinute,
        busiestMinute: busiest.calls,
        perMinute: c.proxy.perMinute(from, Date.now()),
      };
    },
  });
}

export function formatChaos(r: ChaosResult): string[] {
  const q = r.requests;
  const creates = r.platform.counters['createCallback'] ?? {};
  const sum = (f: (k: KillMoment) => number) => r.killMoments.reduce((s, k) => s + f(k), 0);
  return [
    `chaos: ${q.sent} requests (${q.callbackIds} callbackIds, ${q.duplicates} duplicates: ${q.concurrentDuplicates} concurrent, ${q.laterDuplicates} later); ${r.kills} SIGKILLs + restarts; ${r.storms} 429 storms`,
    `  API: ${q.created201} created + ${q.replayed201} replayed 201s, ${q.lateRefusals} refused as late after waiting out restarts, other ${JSON.stringify(q.otherAnswers)}, ${q.serverErrors} 5xx, ${q.unanswered} unanswered; clients retried ${q.connectionErrorsRetried} connection errors and ${q.unavailable503Retried} 503s; request p50 ${q.latencyMs.p50} ms, p99 ${q.latencyMs.p99} ms (retries included)`,
    `  restarts: ${r.restarts}, each down for the start-up (spawn → listening) p50 ${r.restartMs.p50} ms, max ${r.restartMs.max} ms`,
    `  the kills interrupted ${sum((k) => k.createsInFlight)} creates in flight and ${sum((k) => k.leasedJobs)} leased jobs (summed over kills)`,
    `  platform creates by outcome: ${JSON.stringify(creates)}; ${r.platform.calls} platform calls in all (${r.platform.callsPerCallback} per callback)`,
    ...(r.budget
      ? [
          `  ${r.instances} instances on PostgreSQL sharing ${r.budget.requestsPerMinute} platform requests/min: busiest sliding minute ${r.budget.busiestMinute} calls; whole minutes ${JSON.stringify(r.budget.perMinute)}`,
        ]
      : []),
    `  ledger: ${r.ledger.ledgerCallbacks} callbacks ${JSON.stringify(r.ledger.byStatus)}, ${r.ledger.historyRows} history rows; platform endings ${JSON.stringify(r.ledger.platformEndings)}`,
    ...(Object.keys(r.cancels).length > 0 ? [`  cancels answered: ${JSON.stringify(r.cancels)}`] : []),
    `  platform callbacks per accepted callbackId: exactly 1: ${r.perCallbackId.exactlyOne}; 0 with a final state and reason: ${r.perCallbackId.noneWithFinalReason}; more than 1: ${r.perCallbackId.moreThanOne}`,
    `  took ${round(r.durationsMs.total / 1000, 1)} s (load ${round(r.durationsMs.load / 1000, 1)} s, drain ${round(r.durationsMs.drain / 1000, 1)} s); seed ${r.seed}`,
    `chaos verdict: ${r.verdict}`,
  ];
}

function argNumber(args: string[], name: string): number | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

export function chaosOptionsFromArgs(args: string[]): Partial<ChaosOptions> {
  const out: Partial<ChaosOptions> = {};
  const requests = argNumber(args, 'requests');
  const kills = argNumber(args, 'kills');
  const seed = argNumber(args, 'seed');
  if (requests !== undefined) out.requests = requests;
  if (kills !== undefined) out.kills = kills;
  if (seed !== undefined) out.seed = seed;
  const instances = argNumber(args, 'instances');
  if (instances !== undefined) out.instances = instances;
  const budget = argNumber(args, 'budget');
  if (budget !== undefined) out.requestsPerMinute = budget;
  const i = args.indexOf('--ledger');
  if (i >= 0) {
    const ledger = args[i + 1];
    if (ledger !== 'sqlite' && ledger !== 'postgres') throw new Error('--ledger takes sqlite or postgres');
    out.ledger = ledger;
    out.instances ??= ledger === 'postgres' ? 3 : 1;
    if (ledger === 'postgres') out.resultsName = 'chaos-postgres';
  }
  const cancelShare = argNumber(args, 'cancel-share');
  if (cancelShare !== undefined) out.cancelShare = cancelShare;
  if (args.includes('--keep')) out.keepDir = true;
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runChaos({
    ...chaosOptionsFromArgs(process.argv.slice(2)),
    log: (l) => console.log(l),
  });
  for (const line of formatChaos(result)) console.log(line);
  process.exitCode = result.ok ? 0 : 1;
}
