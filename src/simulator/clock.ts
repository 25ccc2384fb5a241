/**
 * The simulator's clock and event scheduler. In manual mode time moves only when told to
 * (tests advance it; every due event runs in time order). In real-time mode it follows wall time
 * from the start instant, due events fire on a timer, and it can still be pushed forward.
 */

export interface SimClock {
  readonly mode: 'manual' | 'realTime';
  /** Current simulator time in epoch milliseconds. */
  now(): number;
  nowIso(): string;
  /** Moves time forward by `ms`, running every event that falls due, in order. Returns how many ran. */
  advanceMs(ms: number): number;
  /** Moves time forward to `epochMs` (never backward), running due events. Returns how many ran. */
  advanceTo(epochMs: number): number;
  /** Number of events waiting to run. */
  pendingEvents(): number;
}

interface ScheduledEvent {
  at: number;
  seq: number;
  label: string;
  run: () => void;
}

export interface Scheduler extends SimClock {
  schedule(atMs: number, label: string, run: () => void): void;
  clear(): void;
  stop(): void;
}

export class ClockError extends Error {
  readonly code = 'sim.clock.backwards';
}

export function createScheduler(opts: {
  startMs: number;
  realTime: boolean;
  onError: (label: string, err: unknown) => void;
}): Scheduler {
  const queue: ScheduledEvent[] = [];
  let seq = 0;
  let manualNow = opts.startMs;
  const wallStart = Date.now();
  let offsetMs = 0;
  // While an event runs, "now" is the event's own due time, so timestamps are exact even when
  // a real-time timer fires a little late.
  let runningAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let draining = false;

  const baseNow = (): number =>
    opts.realTime ? opts.startMs + (Date.now() - wallStart) + offsetMs : manualNow;

  const now = (): number => runningAt ?? baseNow();

  function insert(ev: ScheduledEvent): void {
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = queue[mid]!;
      if (m.at < ev.at || (m.at === ev.at && m.seq < ev.seq)) lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, ev);
  }

  function runDue(upTo: number): number {
    if (draining) return 0;
    draining = true;
    let ran = 0;
    try {
      while (queue.length > 0 && queue[0]!.at <= upTo) {
        const ev = queue.shift()!;
        if (!opts.realTime) manualNow = Math.max(manualNow, ev.at);
        runningAt = ev.at;
        try {
          ev.run();
        } catch (err) {
          opts.onError(ev.label, err);
        } finally {
          runningAt = undefined;
        }
        ran++;
      }
    } finally {
      draining = false;
    }
    return ran;
  }

  function arm(): void {
    if (!opts.realTime || stopped) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    const next = queue[0];
    if (!next) return;
    const delay = Math.min(Math.max(0, next.at - baseNow()), 2_000_000_000);
    timer = setTimeout(() => {
      timer = undefined;
      runDue(baseNow());
      arm();
    }, delay);
    timer.unref();
  }

  function advanceTo(target: number): number {
    const current = baseNow();
    if (target < current) {
      throw new ClockError(
        `The simulator clock cannot go backwards (now ${new Date(current).toISOString()}); advance it instead.`,
      );
    }
    let ran: number;
    if (opts.realTime) {
      offsetMs += target - current;
      ran = runDue(baseNow());
    } else {
      ran = runDue(target);
      manualNow = Math.max(manualNow, target);
    }
    arm();
    return ran;
  }

  return {
    mode: opts.realTime ? 'realTime' : 'manual',
    now,
    nowIso: () => new Date(now()).toISOString(),
    advanceMs(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new ClockError('advanceMs needs a finite, non-negative number of milliseconds.');
      }
      return advanceTo(baseNow() + ms);
    },
    advanceTo,
    pendingEvents: () => queue.length,
    schedule(atMs, label, run) {
      insert({ at: atMs, seq: seq++, label, run });
      // An event due now (or in the past) runs on the next turn, never inside the caller's stack.
      if (opts.realTime) arm();
      else if (atMs <= manualNow && !draining) queueMicrotask(() => runDue(manualNow));
    },
    clear() {
      queue.length = 0;
      arm();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
