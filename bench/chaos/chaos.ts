/**
 * Chaos: many callback requests, a fifth of them duplicates (some sent concurrently), against a
 * `callbackd serve` that is SIGKILLed at random moments and restarted on the same SQLite file,
 * while the simulated platform fails 5% of creates each with a 5xx, a connection reset and
 * commit-then-no-answer, and answers 429 in storms. Clients retry every request that got no
 * answer with the same callbackId. After the engine drains, the audit (lib/ledger-check.ts) wants:
 * exactly one platform callback per accepted callbackId (or none and a final state with a
 * reason), no 201 missing from the ledger, no final state changed, history consistent with status.
 *
 *   npx tsx bench/chaos/chaos.ts [--requests 2000] [--kills 10] [--seed 7]
 */
import { pathToFileURL } from 'node:url';
import { BILLING_QUEUE_ID, type FaultRule, SUPPORT_QUEUE_ID } from '../../src/simulator/index.js';
import { type Answer, CALLBACKS_PATH, RetryingClient } from './lib/client.js';
import {
  BILLING_DID,
  Cluster,
  type Customer,
  SUPPORT_DID,
  TENANT,
  UNPROVISIONED_DID,
  waitForCluster,
} from './lib/cluster.js';
import {
  type AuditCounts,
  auditLedger,
  describeViolations,
  FINAL,
  FinalStateWatcher,
  ledgerSnapshot,
  type Violation,
} from './lib/ledger-check.js';
import { delay, percentile, pick, randomInt, round, seededRandom, tally, writeResults } from './lib/util.js';

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
  maxInFlight: number;
  /** Each callback is scheduled this long (uniform) after its planned send. */
  leadMs: { min: number; max: number };
  /** Share of callbacks per kind of ending the platform will give them. */
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
  drainTimeoutMs: number;
  requestDeadlineMs: number;
  seed: number;
  customers: number;
  /** Write bench/results/<name>.json. */
  resultsName?: string;
  keepDir?: boolean;
  log?: (line: string) => void;
}

export const CHAOS_FULL: ChaosOptions = {
  requests: 2_000,
  duplicateShare: 0.2,
  concurrentShare: 0.5,
  kills: 12,
  uptimeMs: { min: 700, max: 3_000 },
  ratePerSecond: 40,
  maxInFlight: 48,
  leadMs: { min: 12_000, max: 18_000 },
  carrierRejectShare: 0.04,
  refusedShare: 0.04,
  createFaultRate: 0.05,
  readFaultRate: 0.02,
  storms: { everyMs: { min: 3_000, max: 7_000 }, lengthMs: 1_200, rate: 0.7, retryAfterSeconds: 1 },
  drainTimeoutMs: 240_000,
  requestDeadlineMs: 60_000,
  seed: 20_240_615,
  customers: 200,
  resultsName: 'chaos',
};

/** The short version inside `npm test`. */
export const CHAOS_SHORT: ChaosOptions = {
  ...CHAOS_FULL,
  requests: 200,
  kills: 3,
  uptimeMs: { min: 500, max: 1_500 },
  ratePerSecond: 40,
  maxInFlight: 32,
  leadMs: { min: 8_000, max: 11_000 },
  storms: { ...CHAOS_FULL.storms, everyMs: { min: 1_500, max: 3_000 }, lengthMs: 800 },
  drainTimeoutMs: 60_000,
  requestDeadlineMs: 30_000,
  customers: 50,
  resultsName: undefined,
};

type Kind = 'normal' | 'carrier' | 'refused';

interface Planned {
  callbackId: string;
  kind: Kind;
  /** Built when the first copy is sent (scheduled relative to that moment); duplicates reuse it. */
  body: string | null;
  scheduledAt: number;
  make: (now: number) => { body: string; scheduledAt: number };
}

interface SendEvent {
  planned: Planned;
  /** Identical requests sent at once (1 = no concurrent duplicate). */
  copies: number;
  /** This event repeats a callbackId sent earlier. */
  laterDuplicate: boolean;
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
    created201: number;
    replayed201: number;
    otherAnswers: Record<string, number>;
    connectionErrorsRetried: number;
    unavailable503Retried: number;
    serverErrors: number;
    unanswered: number;
    latencyMs: { p50: number; p99: number; max: number };
  };
  kills: number;
  /** The ledger right after each SIGKILL: what the kill interrupted. */
  killMoments: {
    answered: number;
    byStatus: Record<string, number>;
    createsInFlight: number;
    leasedJobs: number;
  }[];
  restarts: number;
  storms: number;
  platform: { calls: number; callsPerCallback: number; counters: Record<string, Record<string, number>> };
  ledger: AuditCounts;
  perCallbackId: { exactlyOne: number; noneWithFinalReason: number; moreThanOne: number };
  durationsMs: { load: number; drain: number; total: number };
  violations: Violation[];
  violationCount: number;
}

/** Rates r_k so that, drawn in order with the first hit winning, each rule fires with its target share. */
function sequentialRates(targets: number[]): number[] {
  let used = 0;
  return targets.map((t) => {
    const r = t / (1 - used);
    used += t;
    return Math.min(1, r);
  });
}

export function baseFaults(createRate: number, readRate: number): FaultRule[] {
  const createTargets: { kind: FaultRule['kind']; status?: number; share: number }[] = [
    // 5xx, split over the statuses that mean different things to the client.
    { kind: 'error', status: 500, share: createRate / 4 },
    { kind: 'error', status: 502, share: createRate / 4 },
    { kind: 'error', status: 503, share: createRate / 4 },
    { kind: 'error', status: 504, share: createRate / 4 },
    { kind: 'reset', share: createRate },
    { kind: 'commitNoAnswer', share: createRate },
  ];
  const rates = sequentialRates(createTargets.map((t) => t.share));
  const faults: FaultRule[] = createTargets.map((t, i) => ({
    endpoint: 'createCallback',
    kind: t.kind,
    rate: rates[i]!,
    ...(t.status === undefined ? {} : { status: t.status }),
  }));
  for (const endpoint of ['getCallback', 'conversationDetails', 'queueObservations']) {
    const [r1, r2] = sequentialRates([readRate, readRate / 2]);
    faults.push({ endpoint, kind: 'error', status: endpoint === 'getCallback' ? 503 : 502, rate: r1! });
    faults.push({ endpoint, kind: 'reset', rate: r2! });
  }
  return faults;
}

function planWorkload(o: ChaosOptions, random: () => number, customers: Customer[]) {
  const duplicates = Math.round(o.requests * o.duplicateShare);
  const uniques = o.requests - duplicates;
  const concurrent = Math.round(duplicates * o.concurrentShare);
  const later = duplicates - concurrent;
  const planned: Planned[] = [];
  for (let i = 0; i < uniques; i++) {
    const roll = random();
    const kind: Kind =
      roll < o.carrierRejectShare
        ? 'carrier'
        : roll < o.carrierRejectShare + o.refusedShare
          ? 'refused'
          : 'normal';
    const customer = pick(random, customers);
    const callbackId = `chaos-${o.seed}-${String(i).padStart(5, '0')}`;
    const leadMs = randomInt(random, o.leadMs.min, o.leadMs.max);
    const queueId = kind === 'refused' ? BILLING_QUEUE_ID : SUPPORT_QUEUE_ID;
    const from = kind === 'carrier' ? UNPROVISIONED_DID : kind === 'refused' ? BILLING_DID : SUPPORT_DID;
    planned.push({
      callbackId,
      kind,
      body: null,
      scheduledAt: 0,
      // Scheduled relative to the first send, so only retries (not the pacing) can make it late.
      make: (now) => {
        const scheduledAt = now + leadMs;
        const body = JSON.stringify({
          callbackId,
          callbackNumber: customer.number,
          callbackFrom: from,
          callbackTo: from,
          scheduledTime: new Date(scheduledAt).toISOString(),
          routingData: { queueId, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
          mediaType: 'voice',
          customerData: { externalId: customer.externalId, firstName: 'Chaos', lastName: `Case ${i}` },
        });
        return { body, scheduledAt };
      },
    });
  }

  // Originals in order; concurrent duplicates ride along with their original; later duplicates
  // go to a random place after it.
  const events: SendEvent[] = planned.map((p) => ({ planned: p, copies: 1, laterDuplicate: false }));
  for (let i = 0; i < concurrent; i++) events[Math.floor(random() * events.length)]!.copies++;
  for (let i = 0; i < later; i++) {
    const from = Math.floor(random() * events.length);
    const original = events[from]!;
    const to = randomInt(random, from + 1, events.length);
    events.splice(to, 0, { planned: original.planned, copies: 1, laterDuplicate: true });
  }
  return { planned, events, duplicates, concurrent, later };
}

export async function runChaos(options: Partial<ChaosOptions> = {}): Promise<ChaosResult> {
  const o: ChaosOptions = { ...CHAOS_FULL, ...options };
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
  let kills = 0;
  let storms = 0;
  const client = new RetryingClient({
    target: () => cluster.url,
    key: cluster.key,
    deadlineMs: o.requestDeadlineMs,
  });
  const watcher = new FinalStateWatcher(() => cluster.dbPath, TENANT);
  try {
    // The simulated org: plenty of agents, short calls, a mix of endings; Billing refuses every create.
    sim.control.setAgentCount(SUPPORT_QUEUE_ID, 500);
    sim.control.setQueueCapacity(BILLING_QUEUE_ID, { maxWaiting: 0, mode: 'refuse' });
    sim.control.setTimings({ offerSeconds: 1, busySeconds: 1, carrierRejectSeconds: 1 });
    sim.control.setDefaultRule({
      outcome: 'random',
      weights: { answer: 6, noAnswer: 2, busy: 1 },
      ringSeconds: 2,
      talkSeconds: 3,
    });
    const faults = baseFaults(o.createFaultRate, o.readFaultRate);
    sim.control.setFaults(faults);

    await cluster.startServe();
    watcher.start();
    log(`chaos: serve up at ${cluster.url}; ledger ${cluster.dbPath}`);

    const plan = planWorkload(o, random, cluster.customers);
    const answers = new Map<string, Answer[]>();

    const killMoments: ChaosResult['killMoments'] = [];
    let loadDone = false;
    let answered = 0;
    const stopChaos = new AbortController();

    // Killer: SIGKILL at a random moment of each serve's life, restart on the same file at once.
    const killer = (async () => {
      while (kills < o.kills) {
        await delay(randomInt(random, o.uptimeMs.min, o.uptimeMs.max));
        await cluster.kill();
        kills++;
        // What the kill interrupted, as the file shows it.
        const at = ledgerSnapshot(cluster.dbPath, TENANT);
        killMoments.push({
          answered,
          byStatus: at.byStatus,
          createsInFlight: at.inFlight,
          leasedJobs: at.leasedJobs,
        });
        log(
          `chaos: SIGKILL ${kills}/${o.kills} (${loadDone ? 'engine draining' : `${answered} of ${o.requests} requests answered`}; ledger ${JSON.stringify(at.byStatus)}, ${at.inFlight} creates in flight, ${at.leasedJobs} jobs leased)`,
        );
        await cluster.startServe();
      }
    })();

    // 429 storms on every platform endpoint, on top of the steady faults.
    const stormer = (async () => {
      while (!stopChaos.signal.aborted) {
        await delay(randomInt(random, o.storms.everyMs.min, o.storms.everyMs.max), stopChaos.signal);
        if (stopChaos.signal.aborted) break;
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
    const sends: Promise<void>[] = [];
    // Open loop at ratePerSecond, but never more than maxInFlight requests outstanding: while the
    // serve is down the clients queue up instead of piling retries onto its restart.
    let inFlight = 0;
    let slotFreed: () => void = () => {};
    let nextAt = Date.now();
    for (const e of plan.events) {
      while (inFlight + e.copies > o.maxInFlight) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
        });
      }
      const wait = nextAt - Date.now();
      if (wait > 0) await delay(wait);
      nextAt = Math.max(nextAt, Date.now() - 1_000) + (1_000 / o.ratePerSecond) * e.copies;
      if (e.planned.body === null) {
        const made = e.planned.make(Date.now());
        e.planned.body = made.body;
        e.planned.scheduledAt = made.scheduledAt;
      }
      const body = e.planned.body;
      for (let c = 0; c < e.copies; c++) {
        inFlight++;
        sends.push(
          client.post(CALLBACKS_PATH, body).then((a) => {
            answered++;
            inFlight--;
            slotFreed();
            const list = answers.get(e.planned.callbackId);
            if (list) list.push(a);
            else answers.set(e.planned.callbackId, [a]);
          }),
        );
      }
    }
    await Promise.all(sends);
    loadDone = true;
    const loadMs = Date.now() - loadStarted;
    log(`chaos: all ${o.requests} requests answered in ${loadMs} ms; ${kills} kills so far`);
    await killer;
    stopChaos.abort();
    await stormer;
    sim.control.setFaults(faults);

    // Drain: the engine carries every callback to its end (the steady faults stay on). The
    // simulator's clock is pushed ahead so the platform dials and ends calls without waiting.
    const drainStarted = Date.now();
    let snapshot = ledgerSnapshot(cluster.dbPath, TENANT);
    await waitForCluster(
      cluster,
      'every callback in a final state on the ledger and the platform',
      () => {
        sim.clock.advanceMs(5_000);
        snapshot = ledgerSnapshot(cluster.dbPath, TENANT);
        const open = snapshot.rows.filter((r) => !FINAL.has(r.status)).length;
        const live = sim.control.conversations().filter((c) => c.endReason === null).length;
        return open === 0 && live === 0;
      },
      o.drainTimeoutMs,
      () => `ledger ${JSON.stringify(snapshot.byStatus)}, ${snapshot.inFlight} in flight`,
    ).catch((err: Error) => {
      violations.push({ kind: 'not-drained', detail: err.message });
    });
    const drainMs = Date.now() - drainStarted;
    await cluster.stop();
    watcher.stop();
    watcher.sample();

    // Client-side findings.
    const otherAnswers: Record<string, number> = {};
    let created = 0;
    let replayed = 0;
    let connectionErrors = 0;
    let unavailable = 0;
    let serverErrors = 0;
    let unanswered = 0;
    const latencies: number[] = [];
    const answered201: string[] = [];
    for (const [id, list] of answers) {
      let originals = 0;
      for (const a of list) {
        connectionErrors += a.connectionErrors;
        unavailable += a.unavailable;
        serverErrors += a.serverErrors.length;
        latencies.push(a.elapsedMs);
        for (const s of a.serverErrors) {
          violations.push({ kind: 'server-error', callbackId: id, detail: `answered ${s}` });
        }
        if (a.status === 201) {
          if (a.replayed) replayed++;
          else {
            created++;
            originals++;
          }
          const body = a.body as { callbackId?: unknown } | undefined;
          if (body?.callbackId !== id) {
            violations.push({
              kind: 'bad-answer',
              callbackId: id,
              detail: '201 without the callback resource',
            });
          }
        } else if (a.status === 0) {
          unanswered++;
          violations.push({
            kind: 'unanswered',
            callbackId: id,
            detail: `no answer in ${o.requestDeadlineMs} ms`,
          });
        } else {
          tally(otherAnswers, String(a.status));
          const p = a.body as { errors?: { code?: string }[] } | undefined;
          violations.push({
            kind: 'refused',
            callbackId: id,
            detail: `a valid request answered ${a.status} ${p?.errors?.map((e) => e.code).join(',') ?? ''}`,
          });
        }
      }
      if (list.some((a) => a.status === 201)) answered201.push(id);
      if (originals > 1) {
        violations.push({
          kind: 'double-original',
          callbackId: id,
          detail: `${originals} answers were 201 without Idempotent-Replayed`,
        });
      }
    }
    for (const exit of cluster.unexpectedExits) {
      violations.push({
        kind: 'crash',
        detail: `serve generation ${exit.generation} exited on its own (code ${exit.code}, signal ${exit.signal})`,
      });
    }

    const audit = auditLedger({
      dbPath: cluster.dbPath,
      tenant: TENANT,
      sim,
      answered201,
      firstFinal: watcher.firstFinal,
      requireDrained: true,
    });
    violations.push(...audit.violations);

    const counters = sim.control.counters();
    const calls = sim.control.requestCount();
    const ledgerCount = audit.counts.ledgerCallbacks;
    const moreThanOne = audit.violations.filter((v) => v.kind === 'duplicate').length;
    const ok = violations.length === 0;
    const verdict = ok
      ? `PASS: ${ledgerCount} callbacks through ${kills} SIGKILLs and ${storms} 429 storms — none lost, none duplicated, no final state changed`
      : `FAIL: ${violations.length} violation(s) — ${describeViolations(violations, 2).join(' | ')}`;
    const result: ChaosResult = {
      name: 'chaos',
      ok,
      verdict,
      seed: o.seed,
      params: {
        requests: o.requests,
        duplicateShare: o.duplicateShare,
        concurrentShare: o.concurrentShare,
        kills: o.kills,
        uptimeMs: o.uptimeMs,
        ratePerSecond: o.ratePerSecond,
        maxInFlight: o.maxInFlight,
        createFaultRate: o.createFaultRate,
        readFaultRate: o.readFaultRate,
        storms: o.storms,
      },
      requests: {
        sent: o.requests,
        callbackIds: plan.planned.length,
        duplicates: plan.duplicates,
        concurrentDuplicates: plan.concurrent,
        laterDuplicates: plan.later,
        created201: created,
        replayed201: replayed,
        otherAnswers,
        connectionErrorsRetried: connectionErrors,
        unavailable503Retried: unavailable,
        serverErrors,
        unanswered,
        latencyMs: {
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          max: Math.max(0, ...latencies),
        },
      },
      kills,
      killMoments,
      restarts: cluster.serveGeneration - 1,
      storms,
      platform: { calls, callsPerCallback: round(calls / Math.max(1, ledgerCount)), counters },
      ledger: audit.counts,
      perCallbackId: {
        exactlyOne: audit.counts.withOnePlatformCallback,
        noneWithFinalReason: audit.counts.withNoPlatformCallback,
        moreThanOne,
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

export function formatChaos(r: ChaosResult): string[] {
  const q = r.requests;
  const creates = r.platform.counters['createCallback'] ?? {};
  return [
    `chaos: ${q.sent} requests (${q.callbackIds} callbackIds, ${q.duplicates} duplicates: ${q.concurrentDuplicates} concurrent, ${q.laterDuplicates} later); ${r.kills} SIGKILLs + restarts; ${r.storms} 429 storms`,
    `  API: ${q.created201} created + ${q.replayed201} replayed 201s, other ${JSON.stringify(q.otherAnswers)}, ${q.serverErrors} 5xx, ${q.unanswered} unanswered; clients retried ${q.connectionErrorsRetried} connection errors and ${q.unavailable503Retried} 503s; request p50 ${q.latencyMs.p50} ms, p99 ${q.latencyMs.p99} ms (retries included)`,
    `  at the kills: ${r.killMoments.reduce((s, k) => s + k.createsInFlight, 0)} creates in flight and ${r.killMoments.reduce((s, k) => s + k.leasedJobs, 0)} jobs leased in all (summed over kills)`,
    `  platform creates by outcome: ${JSON.stringify(creates)}; ${r.platform.calls} platform calls in all (${r.platform.callsPerCallback} per callback)`,
    `  ledger: ${r.ledger.ledgerCallbacks} callbacks ${JSON.stringify(r.ledger.byStatus)}, ${r.ledger.historyRows} history rows; platform endings ${JSON.stringify(r.ledger.platformEndings)}`,
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
