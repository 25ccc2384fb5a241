/**
 * The explicit loop every engine worker runs: one iteration, then a sleep that stop() (or wake())
 * cuts short, with every iteration's error caught and logged with the worker's name, so one bad
 * row or a platform hiccup never kills the worker.
 *
 *   const loop = new WorkerLoop({ name: 'submitter', idleDelayMs: 1000, iterate: async (signal) => ... });
 *   loop.start();
 *   await loop.stop(); // finishes the current iteration, then runs onStop (e.g. release leases)
 */

import { sleep } from '../shared/sleep.js';

export interface WorkerLogger {
  error(obj: Record<string, unknown>, msg: string): void;
  debug?(obj: Record<string, unknown>, msg: string): void;
}

export interface WorkerLoopOptions {
  /** For logs: which worker failed. */
  name: string;
  /**
   * One round of work. Return true when there may be more to do at once (loop again without
   * sleeping), false/undefined to sleep idleDelayMs. `signal` aborts when stop() is called:
   * finish the item in hand, do not start new ones.
   */
  iterate: (signal: AbortSignal) => Promise<unknown>;
  /** Sleep between iterations when there was nothing to do. */
  idleDelayMs: number;
  /** Sleep after an iteration threw; default idleDelayMs. */
  errorDelayMs?: number;
  logger?: WorkerLogger;
  /** Runs once after the last iteration (release leases, close handles). */
  onStop?: () => Promise<void>;
}

export class WorkerLoop {
  private readonly opts: WorkerLoopOptions;
  private stopController = new AbortController();
  private wakeController = new AbortController();
  private loopPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  /** Completed iterations (including failed ones). */
  iterations = 0;
  /** Iterations that threw. */
  failures = 0;

  constructor(opts: WorkerLoopOptions) {
    this.opts = opts;
  }

  get running(): boolean {
    return this.loopPromise !== undefined && !this.stopController.signal.aborted;
  }

  start(): void {
    if (this.loopPromise) return;
    this.loopPromise = this.run();
  }

  /** Cuts the current sleep short so the next iteration starts now (e.g. new work arrived). */
  wake(): void {
    this.wakeController.abort();
  }

  /** Finishes the current iteration, skips the rest, runs onStop once. Safe to call repeatedly. */
  stop(): Promise<void> {
    if (!this.stopPromise) {
      this.stopController.abort();
      this.wakeController.abort();
      this.stopPromise = (async () => {
        await this.loopPromise;
        await this.opts.onStop?.();
      })();
    }
    return this.stopPromise;
  }

  private async run(): Promise<void> {
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      let more = false;
      let failed = false;
      try {
        more = (await this.opts.iterate(stop)) === true;
      } catch (err) {
        failed = true;
        this.failures++;
        this.opts.logger?.error(
          { worker: this.opts.name, iteration: this.iterations, err: describeError(err) },
          `${this.opts.name}: iteration failed; retrying after a pause`,
        );
      }
      this.iterations++;
      if (stop.aborted) break;
      if (more && !failed) continue;
      // Woken during the iteration: new work may have arrived after it looked, so look again now.
      if (this.wakeController.signal.aborted && !failed) {
        this.wakeController = new AbortController();
        continue;
      }
      await sleep(
        failed ? (this.opts.errorDelayMs ?? this.opts.idleDelayMs) : this.opts.idleDelayMs,
        AbortSignal.any([stop, this.wakeController.signal]),
      );
      if (this.wakeController.signal.aborted) this.wakeController = new AbortController();
    }
  }
}

/** An error as a log-safe object: message and code, not the whole object (which may hold request data). */
export function describeError(err: unknown): { message: string; code?: string; name?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(err) };
}
