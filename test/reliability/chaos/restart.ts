/**
 * Restart from a copied ledger: while callbackd is busy (callbacks accepted, creates in flight,
 * jobs leased, callbacks pending on the platform), the serve is frozen (SIGSTOP), its SQLite
 * ledger copied — the raw file plus its -wal, as a disk snapshot would, or through SQLite's online
 * backup API — the frozen process is SIGKILLed, and a fresh process is started on the copy. The
 * copy must resume every job: every callback ends, each on the platform exactly once (or none and
 * a final state with a reason), and every 201 any generation gave is in the last copy.
 *
 *   npx tsx test/reliability/chaos/restart.ts [--requests 600] [--copies 3] [--seed 7] [--keep]
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { FaultRule } from '../../../src/simulator/index.js';
import { RetryingClient } from './lib/client.js';
import { Cluster, TENANT, waitForCluster } from './lib/cluster.js';
import { drainAndAudit } from './lib/drain.js';
import {
  type AuditCounts,
  describeViolations,
  FinalStateWatcher,
  ledgerSnapshot,
  type Violation,
} from './lib/ledger-check.js';
import { round, seededRandom, writeResults } from './lib/util.js';
import {
  type AnswerCounts,
  answerCounts,
  baseFaults,
  type LoadProgress,
  planWorkload,
  sendWorkload,
  setUpPlatform,
} from './lib/workload.js';

export type CopyMethod = 'files' | 'backup';

export interface RestartOptions {
  requests: number;
  duplicateShare: number;
  concurrentShare: number;
  leadMs: { min: number; max: number };
  carrierRejectShare: number;
  refusedShare: number;
  ratePerSecond: number;
  /** Requests released at once (so kills catch requests in flight). */
  burstSize: number;
  maxInFlight: number;
  /** One copy-and-restart per entry, spread over the load. */
  copies: CopyMethod[];
  /** Platform latency on every create, so creates are in flight when the copy is taken. */
  createLatencyMs: number;
  createFaultRate: number;
  readFaultRate: number;
  /** How long to wait for a moment with a create in flight before freezing anyway. */
  freezeWaitMs: number;
  drainTimeoutMs: number;
  requestDeadlineMs: number;
  seed: number;
  customers: number;
  resultsName?: string;
  keepDir?: boolean;
  log?: (line: string) => void;
}

export const RESTART_FULL: RestartOptions = {
  requests: 600,
  duplicateShare: 0.2,
  concurrentShare: 0.5,
  leadMs: { min: 10_000, max: 15_000 },
  carrierRejectShare: 0.04,
  refusedShare: 0.04,
  ratePerSecond: 40,
  burstSize: 5,
  maxInFlight: 32,
  copies: ['files', 'backup', 'files'],
  createLatencyMs: 150,
  createFaultRate: 0.05,
  readFaultRate: 0.02,
  freezeWaitMs: 5_000,
  drainTimeoutMs: 120_000,
  requestDeadlineMs: 60_000,
  seed: 777,
  customers: 100,
  resultsName: 'restart',
};

/** The short version inside `npm test`: one copy-restart. */
export const RESTART_SHORT: RestartOptions = {
  ...RESTART_FULL,
  requests: 80,
  copies: ['files'],
  leadMs: { min: 10_000, max: 14_000 },
  drainTimeoutMs: 45_000,
  requestDeadlineMs: 30_000,
  customers: 20,
  resultsName: undefined,
};

export interface CopyMoment {
  method: CopyMethod;
  /** Requests answered when the serve was frozen. */
  answered: number;
  /** The copy as the fresh process found it. */
  byStatus: Record<string, number>;
  createsInFlight: number;
  leasedJobs: number;
  /** Callbacks whose row in the copy is newer than what live readers of the frozen file saw. */
  aheadOfReaders: number;
  copyMs: number;
}

export interface RestartResult {
  name: 'restart';
  ok: boolean;
  verdict: string;
  seed: number;
  params: Record<string, unknown>;
  copies: CopyMoment[];
  requests: { sent: number; callbackIds: number } & AnswerCounts;
  ledger: AuditCounts;
  perCallbackId: { exactlyOne: number; noneWithFinalReason: number; moreThanOne: number };
  platform: { calls: number; counters: Record<string, Record<string, number>> };
  durationsMs: { total: number; drain: number };
  violations: Violation[];
  violationCount: number;
}

/** Copies a ledger whose writer is frozen: the file and its -wal (never the -shm), or the backup API. */
export async function copyLedger(from: string, to: string, method: CopyMethod): Promise<void> {
  if (method === 'files') {
    copyFileSync(from, to);
    if (existsSync(`${from}-wal`)) copyFileSync(`${from}-wal`, `${to}-wal`);
    return;
  }
  const db = new Database(from, { readonly: true, fileMustExist: true });
  try {
    await db.backup(to);
  } finally {
    db.close();
  }
}

export async function runRestart(options: Partial<RestartOptions> = {}): Promise<RestartResult> {
  const o: RestartOptions = { ...RESTART_FULL, ...options };
  const log = o.log ?? (() => {});
  const random = seededRandom(o.seed);
  const startedAt = Date.now();
  const cluster = await Cluster.start({
    customers: o.customers,
    seed: o.seed,
    ...(o.keepDir ? { keepDir: true } : {}),
  });
  const { sim } = cluster;
  const violations: Violation[] = [];
  const copies: CopyMoment[] = [];
  const client = new RetryingClient({
    target: () => cluster.url,
    key: cluster.key,
    deadlineMs: o.requestDeadlineMs,
  });
  const watcher = new FinalStateWatcher(() => cluster.dbPath, TENANT);
  try {
    const faults: FaultRule[] = [
      { endpoint: 'createCallback', kind: 'latency', latencyMs: o.createLatencyMs },
      ...baseFaults(o.createFaultRate, o.readFaultRate),
    ];
    setUpPlatform(sim, faults);
    await cluster.startServe();
    watcher.start();

    const plan = planWorkload({ ...o, prefix: `restart-${o.seed}` }, random, cluster.customers);
    const progress: LoadProgress = { answered: 0 };
    const load = sendWorkload(plan, client, {
      ratePerSecond: o.ratePerSecond,
      burstSize: o.burstSize,
      maxInFlight: o.maxInFlight,
      progress,
    });

    for (const [k, method] of o.copies.entries()) {
      // Spread the copies over the load, then pick a moment with a create in flight.
      const due = Math.floor(((k + 1) * o.requests) / (o.copies.length + 1));
      await waitForCluster(
        cluster,
        `${due} requests answered`,
        () => progress.answered >= due,
        o.requestDeadlineMs,
      );
      await waitForCluster(
        cluster,
        'a create in flight',
        () => ledgerSnapshot(cluster.dbPath, TENANT).inFlight > 0,
        o.freezeWaitMs,
      ).catch(() => undefined);

      await cluster.freeze();
      const frozen = ledgerSnapshot(cluster.dbPath, TENANT);
      const copyPath = join(cluster.dir, `ledger-copy-${k + 1}.db`);
      const copyStarted = Date.now();
      await copyLedger(cluster.dbPath, copyPath, method);
      const copyMs = Date.now() - copyStarted;
      await cluster.kill();

      // Every callback the frozen ledger held is in the copy. (A raw -wal copy may hold one more
      // committed transaction than readers saw: the writer stopped before publishing it in the
      // -shm index; recovery on open finds it, as it would after a crash.)
      const copied = ledgerSnapshot(copyPath, TENANT);
      const inCopy = new Set(copied.rows.map((r) => r.callback_id));
      const missing = frozen.rows.filter((r) => !inCopy.has(r.callback_id));
      if (missing.length > 0) {
        violations.push({
          kind: 'copy-mismatch',
          detail: `copy ${k + 1} (${method}) lacks ${missing.length} callback(s) the frozen ledger held, e.g. ${missing[0]!.callback_id}`,
        });
      }
      const before = new Map(frozen.rows.map((r) => [r.callback_id, r.status]));
      const ahead = copied.rows.filter((r) => before.get(r.callback_id) !== r.status).length;
      copies.push({
        method,
        answered: progress.answered,
        byStatus: copied.byStatus,
        createsInFlight: copied.inFlight,
        leasedJobs: copied.leasedJobs,
        aheadOfReaders: ahead,
        copyMs,
      });
      log(
        `restart: copy ${k + 1}/${o.copies.length} by ${method} at ${progress.answered} answered: ${JSON.stringify(copied.byStatus)}, ${copied.inFlight} creates in flight, ${copied.leasedJobs} jobs leased`,
      );
      cluster.useLedger(copyPath);
      await cluster.startServe();
    }

    const answers = await load;
    const { drainMs, answered, audit } = await drainAndAudit({
      cluster,
      watcher,
      answers,
      requestDeadlineMs: o.requestDeadlineMs,
      drainTimeoutMs: o.drainTimeoutMs,
      advance: () => sim.clock.advanceMs(5_000),
      violations,
    });

    const ok = violations.length === 0;
    const result: RestartResult = {
      name: 'restart',
      ok,
      verdict: ok
        ? `PASS: ${copies.length} mid-run copies, each resumed by a fresh process: all ${audit.counts.ledgerCallbacks} callbacks ended, none lost, none duplicated`
        : `FAIL: ${violations.length} violation(s) — ${describeViolations(violations, 2).join(' | ')}`,
      seed: o.seed,
      params: {
        requests: o.requests,
        copies: o.copies,
        createLatencyMs: o.createLatencyMs,
        createFaultRate: o.createFaultRate,
        readFaultRate: o.readFaultRate,
      },
      copies,
      requests: { sent: o.requests, callbackIds: plan.planned.length, ...answerCounts(answered) },
      ledger: audit.counts,
      perCallbackId: {
        exactlyOne: audit.counts.withOnePlatformCallback,
        noneWithFinalReason: audit.counts.withNoPlatformCallback,
        moreThanOne: audit.violations.filter((v) => v.kind === 'duplicate').length,
      },
      platform: { calls: sim.control.requestCount(), counters: sim.control.counters() },
      durationsMs: { total: Date.now() - startedAt, drain: drainMs },
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

export function formatRestart(r: RestartResult): string[] {
  return [
    `restart: ${r.requests.sent} requests (${r.requests.callbackIds} callbackIds); ${r.copies.length} copies taken mid-run and resumed by a fresh process:`,
    ...r.copies.map(
      (c, i) =>
        `  copy ${i + 1} by ${c.method} (${c.copyMs} ms) at ${c.answered} answered: ${JSON.stringify(c.byStatus)}, ${c.createsInFlight} creates in flight, ${c.leasedJobs} jobs leased${c.aheadOfReaders > 0 ? `, ${c.aheadOfReaders} row(s) newer than live readers saw (an unpublished WAL commit)` : ''}`,
    ),
    `  API: ${r.requests.created201} created + ${r.requests.replayed201} replayed 201s, ${r.requests.lateRefusals} refused as late, ${r.requests.serverErrors} 5xx, ${r.requests.unanswered} unanswered`,
    `  final ledger: ${r.ledger.ledgerCallbacks} callbacks ${JSON.stringify(r.ledger.byStatus)}; platform callbacks per callbackId: exactly 1: ${r.perCallbackId.exactlyOne}, 0 with a final reason: ${r.perCallbackId.noneWithFinalReason}, more than 1: ${r.perCallbackId.moreThanOne}`,
    `  took ${round(r.durationsMs.total / 1000, 1)} s (drain ${round(r.durationsMs.drain / 1000, 1)} s); seed ${r.seed}`,
    `restart verdict: ${r.verdict}`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const num = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const n = num('copies');
  const result = await runRestart({
    ...(num('requests') !== undefined ? { requests: num('requests')! } : {}),
    ...(num('seed') !== undefined ? { seed: num('seed')! } : {}),
    ...(n !== undefined
      ? { copies: Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 'files' : 'backup')) }
      : {}),
    ...(args.includes('--keep') ? { keepDir: true } : {}),
    log: (l) => console.log(l),
  });
  for (const line of formatRestart(result)) console.log(line);
  process.exitCode = result.ok ? 0 : 1;
}
