/**
 * The workload the chaos and restart scenarios send, and the simulated org it meets: callback
 * requests (some duplicated, at once or later), sent at a steady rate by retrying clients, against
 * a platform that fails a share of its calls. Also the client-side half of the audit.
 */
import {
  BILLING_QUEUE_ID,
  type FaultRule,
  type Simulator,
  SUPPORT_QUEUE_ID,
} from '../../../../src/simulator/index.js';
import { type Answer, CALLBACKS_PATH, emptyAnswer, type RetryingClient } from './client.js';
import { BILLING_DID, type Customer, SUPPORT_DID, UNPROVISIONED_DID } from './cluster.js';
import type { Violation } from './ledger-check.js';
import { delay, percentile, pick, randomInt, tally } from './util.js';

/** How the platform will end a callback: normally, refused by the carrier, or refused at create. */
export type Kind = 'normal' | 'carrier' | 'refused';

export interface Planned {
  callbackId: string;
  kind: Kind;
  /** Cancelled by the client soon after its 201. */
  cancel: boolean;
  /** Built when the first copy is sent (scheduled relative to that moment); duplicates reuse it. */
  body: string | null;
  make: (now: number) => string;
}

export interface SendEvent {
  planned: Planned;
  /** Identical requests sent at once (1 = no concurrent duplicate). */
  copies: number;
  /** This event repeats a callbackId sent earlier. */
  laterDuplicate: boolean;
}

export interface WorkloadOptions {
  /** Id prefix, unique per run. */
  prefix: string;
  requests: number;
  /** Share of the requests that repeat an earlier callbackId (identical body). */
  duplicateShare: number;
  /** Of the duplicates, the share sent at the same moment as their original. */
  concurrentShare: number;
  /** Each callback is scheduled this long (uniform) after its first send. */
  leadMs: { min: number; max: number };
  carrierRejectShare: number;
  refusedShare: number;
  /** Share of callbacks the client cancels (DELETE) right after its 201; they are scheduled far ahead. */
  cancelShare?: number;
}

export interface Workload {
  planned: Planned[];
  events: SendEvent[];
  duplicates: number;
  concurrent: number;
  later: number;
}

export function planWorkload(o: WorkloadOptions, random: () => number, customers: Customer[]): Workload {
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
    const callbackId = `${o.prefix}-${String(i).padStart(5, '0')}`;
    const cancel = kind === 'normal' && random() < (o.cancelShare ?? 0);
    // A callback about to be cancelled is scheduled hours ahead: the cancel, not the clock, ends it.
    const leadMs = cancel ? 6 * 3_600_000 : randomInt(random, o.leadMs.min, o.leadMs.max);
    const queueId = kind === 'refused' ? BILLING_QUEUE_ID : SUPPORT_QUEUE_ID;
    const from = kind === 'carrier' ? UNPROVISIONED_DID : kind === 'refused' ? BILLING_DID : SUPPORT_DID;
    planned.push({
      callbackId,
      kind,
      cancel,
      body: null,
      // Scheduled relative to the first send, so only retries (not the pacing) can make it late.
      make: (now) =>
        JSON.stringify({
          callbackId,
          callbackNumber: customer.number,
          callbackFrom: from,
          callbackTo: from,
          scheduledTime: new Date(now + leadMs).toISOString(),
          routingData: { queueId, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
          mediaType: 'voice',
          customerData: { externalId: customer.externalId, firstName: 'Harness', lastName: `Case ${i}` },
        }),
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

export interface LoadProgress {
  answered: number;
}

export interface CancelPlan {
  /** The cancel goes out this long (uniform) after the first 201. */
  delayMs: { min: number; max: number };
  random: () => number;
  /** Filled in: every answer to a cancel, per callbackId. */
  answers: Map<string, Answer>;
}

/**
 * Sends the workload at ratePerSecond (in bursts) with at most maxInFlight requests outstanding (while the
 * serve is down the clients queue up instead of piling retries onto its restart). Resolves with
 * every answer per callbackId once all are answered.
 */
export async function sendWorkload(
  work: Workload,
  client: RetryingClient,
  opts: {
    ratePerSecond: number;
    /** Requests released together (a burst keeps many in flight for a kill to interrupt). */
    burstSize?: number;
    maxInFlight: number;
    progress?: LoadProgress;
    cancels?: CancelPlan;
  },
): Promise<Map<string, Answer[]>> {
  const answers = new Map<string, Answer[]>();
  const sends: Promise<void>[] = [];
  const cancelOnce = (p: Planned) => {
    const plan = opts.cancels;
    if (!plan || !p.cancel || plan.answers.has(p.callbackId)) return;
    plan.answers.set(p.callbackId, emptyAnswer());
    const wait = randomInt(plan.random, plan.delayMs.min, plan.delayMs.max);
    sends.push(
      delay(wait)
        .then(() => client.delete(`${CALLBACKS_PATH}/${encodeURIComponent(p.callbackId)}`))
        .then((a) => {
          plan.answers.set(p.callbackId, a);
        }),
    );
  };
  let inFlight = 0;
  let slotFreed: () => void = () => {};
  let nextAt = Date.now();
  const burst = Math.max(1, opts.burstSize ?? 1);
  let sentInBurst = 0;
  for (const e of work.events) {
    while (inFlight + e.copies > opts.maxInFlight) {
      await new Promise<void>((resolve) => {
        slotFreed = resolve;
      });
    }
    // Released in bursts of burstSize requests, at ratePerSecond on average.
    if (sentInBurst >= burst) {
      const wait = nextAt - Date.now();
      if (wait > 0) await delay(wait);
      nextAt = Math.max(nextAt, Date.now() - 1_000) + (1_000 / opts.ratePerSecond) * sentInBurst;
      sentInBurst = 0;
    }
    sentInBurst += e.copies;
    e.planned.body ??= e.planned.make(Date.now());
    const body = e.planned.body;
    for (let c = 0; c < e.copies; c++) {
      inFlight++;
      sends.push(
        client.post(CALLBACKS_PATH, body).then((a) => {
          inFlight--;
          if (opts.progress) opts.progress.answered++;
          slotFreed();
          const list = answers.get(e.planned.callbackId);
          if (list) list.push(a);
          else answers.set(e.planned.callbackId, [a]);
          if (a.status === 201) cancelOnce(e.planned);
        }),
      );
    }
  }
  // Cancels join `sends` as their 201s arrive; wait until no more appear.
  for (let seen = 0; seen < sends.length; ) {
    seen = sends.length;
    await Promise.all(sends);
  }
  return answers;
}

export interface AnswerSummary {
  created201: number;
  /**
   * Refused 400 because the scheduled time had come by the time a retry got through (the server's
   * clock rules; the client was kept waiting by restarts). Not accepted: checked absent from the
   * ledger by the caller.
   */
  lateRefusals: number;
  replayed201: number;
  otherAnswers: Record<string, number>;
  connectionErrorsRetried: number;
  unavailable503Retried: number;
  serverErrors: number;
  unanswered: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** callbackIds that got at least one 201. */
  answered201: string[];
  /** callbackIds that got no 201 at all (must then be absent from the ledger). */
  neverAccepted: string[];
  violations: Violation[];
}

export type AnswerCounts = Omit<AnswerSummary, 'answered201' | 'neverAccepted' | 'violations'>;

/** The figures of an AnswerSummary, without its id lists. */
export function answerCounts(a: AnswerSummary): AnswerCounts {
  const { answered201: _ids, neverAccepted: _never, violations: _v, ...counts } = a;
  return counts;
}

/** Refusals that only say the scheduled time is no longer ahead (by the server's clock). */
const LATE_CODES = new Set(['SCHEDULED_TIME_IN_PAST', 'SCHEDULED_TIME_TOO_SOON']);

/**
 * The client's half of the audit: every valid request answered 201 (created or replayed), at
 * most one original (non-replayed) 201 per callbackId, no 5xx, the resource in every 201.
 */
export function summarizeAnswers(answers: Map<string, Answer[]>, deadlineMs: number): AnswerSummary {
  const s: AnswerSummary = {
    created201: 0,
    lateRefusals: 0,
    replayed201: 0,
    otherAnswers: {},
    connectionErrorsRetried: 0,
    unavailable503Retried: 0,
    serverErrors: 0,
    unanswered: 0,
    latencyMs: { p50: 0, p99: 0, max: 0 },
    answered201: [],
    neverAccepted: [],
    violations: [],
  };
  const latencies: number[] = [];
  for (const [id, list] of answers) {
    let originals = 0;
    for (const a of list) {
      s.connectionErrorsRetried += a.connectionErrors;
      s.unavailable503Retried += a.unavailable;
      s.serverErrors += a.serverErrors.length;
      latencies.push(a.elapsedMs);
      for (const code of a.serverErrors) {
        s.violations.push({ kind: 'server-error', callbackId: id, detail: `answered ${code}` });
      }
      if (a.status === 201) {
        if (a.replayed) s.replayed201++;
        else {
          s.created201++;
          originals++;
        }
        const body = a.body as { callbackId?: unknown } | undefined;
        if (body?.callbackId !== id) {
          s.violations.push({
            kind: 'bad-answer',
            callbackId: id,
            detail: '201 without the callback resource',
          });
        }
      } else if (a.status === 0) {
        s.unanswered++;
        s.violations.push({ kind: 'unanswered', callbackId: id, detail: `no answer in ${deadlineMs} ms` });
      } else {
        tally(s.otherAnswers, String(a.status));
        const p = a.body as { errors?: { code?: string }[] } | undefined;
        const codes = p?.errors?.map((e) => e.code) ?? [];
        if (a.status === 400 && codes.length > 0 && codes.every((c) => c && LATE_CODES.has(c))) {
          s.lateRefusals++;
          continue;
        }
        s.violations.push({
          kind: 'refused',
          callbackId: id,
          detail: `a valid request answered ${a.status} ${p?.errors?.map((e) => e.code).join(',') ?? ''}`,
        });
      }
    }
    if (list.some((a) => a.status === 201)) s.answered201.push(id);
    else s.neverAccepted.push(id);
    if (originals > 1) {
      s.violations.push({
        kind: 'double-original',
        callbackId: id,
        detail: `${originals} answers were 201 without Idempotent-Replayed`,
      });
    }
  }
  s.latencyMs = {
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    max: Math.round(Math.max(0, ...latencies)),
  };
  return s;
}

/** Rates r_k so that, drawn in order with the first hit winning, each rule fires with its target share. */
export function sequentialRates(targets: number[]): number[] {
  let used = 0;
  return targets.map((t) => {
    const r = t / (1 - used);
    used += t;
    return Math.min(1, r);
  });
}

/**
 * Steady faults: on creates, `createRate` each of 5xx (split over 500/502/503/504, which the
 * client reads differently), connection resets and commit-then-no-answer; on the reads the engine
 * depends on (tracking, look-ups, capacity), `readRate` of 5xx and half that of resets.
 */
export function baseFaults(createRate: number, readRate: number): FaultRule[] {
  const createTargets: { kind: FaultRule['kind']; status?: number; share: number }[] = [
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
  // Reads the look-up and the tracker make: the callback and conversation GETs, the attribute
  // search, the details query, the capacity pre-flight.
  const reads = [
    'getCallback',
    'getConversation',
    'attributesSearch',
    'conversationDetails',
    'queueObservations',
  ] as const;
  for (const endpoint of reads) {
    const [r1, r2] = sequentialRates([readRate, readRate / 2]);
    const status = endpoint === 'getCallback' || endpoint === 'getConversation' ? 503 : 502;
    faults.push({ endpoint, kind: 'error', status, rate: r1! });
    faults.push({ endpoint, kind: 'reset', rate: r2! });
  }
  return faults;
}

/** The simulated org for the scenarios: plenty of agents, short calls, a mix of endings; Billing refuses every create. */
export function setUpPlatform(sim: Simulator, faults: FaultRule[]): void {
  sim.control.setAgentCount(SUPPORT_QUEUE_ID, 500);
  sim.control.setQueueCapacity(BILLING_QUEUE_ID, { maxWaiting: 0, mode: 'refuse' });
  sim.control.setTimings({ offerSeconds: 1, busySeconds: 1, carrierRejectSeconds: 1 });
  sim.control.setDefaultRule({
    outcome: 'random',
    weights: { answer: 6, noAnswer: 2, busy: 1 },
    ringSeconds: 2,
    talkSeconds: 3,
  });
  sim.control.setFaults(faults);
}
