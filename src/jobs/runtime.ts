/**
 * The one job runtime (docs/ARCHITECTURE.md, "The job runtime"): a registry of task handlers by
 * job kind, and one leased loop per kind that leases due jobs, runs the handler and applies what
 * it answers — `complete`, `retryAt` with an error, or `giveUp` with a reason. Handlers never
 * touch the jobs table themselves.
 *
 * Each loop holds its leases under its own owner id (`<workerId>/<kind>`), so stopping one loop
 * releases only the leases that loop holds, never another's.
 */
import type { Clock, EpochMs } from '../domain/types.js';
import type { Job, JobKind, Store } from '../ledger/port.js';
import { describeError, type WorkerLogger, WorkerLoop } from './loop.js';

/** What a handler answers for one job; the runtime applies it to the job's row. */
export type JobResult =
  | { type: 'complete'; outcome?: string }
  | { type: 'retryAt'; at: EpochMs; error: string; outcome?: string }
  | { type: 'giveUp'; reason: string; outcome?: string };

/** The job is done: its row goes. `outcome` labels it in runOnce's counts (default "complete"). */
export function complete(outcome?: string): JobResult {
  return outcome === undefined ? { type: 'complete' } : { type: 'complete', outcome };
}

/** Run the job again at `at`; `error` is recorded as its last error. */
export function retryAt(at: EpochMs, error: unknown, outcome?: string): JobResult {
  const message = typeof error === 'string' ? error : describeError(error).message;
  return outcome === undefined
    ? { type: 'retryAt', at, error: message }
    : { type: 'retryAt', at, error: message, outcome };
}

/** Stop trying: the job is dropped after `reason` is logged. */
export function giveUp(reason: string, outcome?: string): JobResult {
  return outcome === undefined ? { type: 'giveUp', reason } : { type: 'giveUp', reason, outcome };
}

export interface TaskContext {
  /** Aborts when the loop stops: pass it to every platform call, retry sleep and budget wait. */
  signal: AbortSignal;
}

/** How one job kind is run. */
export interface TaskDefinition {
  kind: JobKind;
  /** Handles one leased job. A throw is an unexpected failure: `onError` decides what follows. */
  handle(job: Job, ctx: TaskContext): Promise<JobResult>;
  /** What to do with a job whose handler threw (default: retry after errorRetryMs). */
  onError?(err: unknown, job: Job): JobResult;
  /** Jobs leased per iteration. */
  batchSize: number;
  /** Jobs of one batch handled at once. */
  concurrency: number;
  /** How long a leased job stays invisible to other loops. */
  leaseMs: number;
  /** Sleep between iterations that found no due job. */
  idleDelayMs: number;
  /** Sleep after an iteration that failed as a whole (the ledger was unreachable). */
  errorDelayMs?: number;
  /** Retry delay of a job whose handler threw, when onError is not given. */
  errorRetryMs?: number;
}

export interface JobPassResult {
  jobs: number;
  /** Per outcome label (the result's `outcome`, else its type): how many jobs ended so. */
  outcomes: Partial<Record<string, number>>;
}

/** A running loop of one job kind. */
export interface JobLoop {
  readonly kind: JobKind;
  /** The lease owner id of this loop's jobs. */
  readonly owner: string;
  /** Leases one batch and handles it. For tests and caller-driven loops. */
  runOnce(signal?: AbortSignal): Promise<JobPassResult>;
  start(): void;
  /** Finishes the jobs in hand, then releases the leases this loop holds (and no other's). */
  stop(): Promise<void>;
  /** Cuts the idle sleep short (new work arrived). */
  wake(): void;
  readonly loop: WorkerLoop;
}

export interface JobLoopDeps {
  store: Store;
  clock: Clock;
  /** Unique per process; the loop leases in the name `<workerId>/<kind>`. */
  workerId: string;
  logger?: WorkerLogger;
}

/** The lease owner id of a kind's loop in a worker. */
export function leaseOwner(workerId: string, kind: JobKind): string {
  return `${workerId}/${kind}`;
}

export function createJobLoop(deps: JobLoopDeps, task: TaskDefinition): JobLoop {
  const { store, clock, logger } = deps;
  const owner = leaseOwner(deps.workerId, task.kind);
  const errorRetryMs = task.errorRetryMs ?? 10_000;

  async function apply(job: Job, result: JobResult): Promise<void> {
    switch (result.type) {
      case 'complete':
        return store.completeJob(job.id, owner);
      case 'retryAt':
        return store.retryJob(job.id, owner, result.at, result.error);
      case 'giveUp':
        logger?.error(
          { kind: task.kind, job: job.id, callbackPk: job.callbackPk, attempts: job.attempts },
          `${task.kind}: giving up on the job: ${result.reason}`,
        );
        return store.completeJob(job.id, owner);
    }
  }

  async function runOne(job: Job, signal: AbortSignal): Promise<string> {
    let result: JobResult;
    try {
      result = await task.handle(job, { signal });
    } catch (err) {
      logger?.error(
        { kind: task.kind, job: job.id, callbackPk: job.callbackPk, err: describeError(err) },
        `${task.kind}: job failed`,
      );
      result = task.onError?.(err, job) ?? retryAt(clock.now() + errorRetryMs, err, 'error');
      if (result.outcome === undefined) result = { ...result, outcome: 'error' };
    }
    try {
      await apply(job, result);
    } catch (err) {
      // The row stays leased; the lease runs out and the job is picked up again.
      logger?.error(
        { kind: task.kind, job: job.id, err: describeError(err) },
        `${task.kind}: could not record the job's result`,
      );
    }
    return result.outcome ?? result.type;
  }

  async function runOnce(signal: AbortSignal = new AbortController().signal): Promise<JobPassResult> {
    const jobs = await store.leaseJobs(task.kind, owner, task.batchSize, task.leaseMs, clock.now());
    const outcomes: Partial<Record<string, number>> = {};
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        // Stopping: leave the rest leased to us; stop() releases them for the next owner.
        if (signal.aborted) return;
        const outcome = await runOne(jobs[next++]!, signal);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(task.concurrency, jobs.length) }, worker));
    return { jobs: jobs.length, outcomes };
  }

  const loop = new WorkerLoop({
    name: `${task.kind} ${owner}`,
    idleDelayMs: task.idleDelayMs,
    errorDelayMs: task.errorDelayMs ?? Math.max(task.idleDelayMs, 5_000),
    ...(logger ? { logger } : {}),
    // A full batch means more may be waiting: go again at once.
    iterate: async (signal) => (await runOnce(signal)).jobs >= task.batchSize,
    onStop: () => store.releaseLeases(owner),
  });

  return {
    kind: task.kind,
    owner,
    runOnce,
    start: () => loop.start(),
    stop: () => loop.stop(),
    wake: () => loop.wake(),
    loop,
  };
}

/** The task registry: one definition per job kind, one loop each. */
export class JobRuntime {
  readonly #deps: JobLoopDeps;
  readonly #loops = new Map<JobKind, JobLoop>();

  constructor(deps: JobLoopDeps) {
    this.#deps = deps;
  }

  /** Registers a kind's handler; a kind registered twice is a programming error. */
  register(task: TaskDefinition): JobLoop {
    if (this.#loops.has(task.kind)) throw new Error(`job kind "${task.kind}" is registered twice`);
    const loop = createJobLoop(this.#deps, task);
    this.#loops.set(task.kind, loop);
    return loop;
  }

  get(kind: JobKind): JobLoop | undefined {
    return this.#loops.get(kind);
  }

  get loops(): readonly JobLoop[] {
    return [...this.#loops.values()];
  }

  start(): void {
    for (const l of this.#loops.values()) l.start();
  }

  /** Stops every loop; each releases only its own leases. */
  async stop(): Promise<void> {
    await Promise.all([...this.#loops.values()].map((l) => l.stop()));
  }
}
