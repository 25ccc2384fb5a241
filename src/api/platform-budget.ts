/**
 * How much of the platform budget callbackd spends: the Genesys client's cumulative counters,
 * sampled every few seconds, give the calls and 429s of the last minute and hour. Wall-clock time:
 * the platform's rate limit runs on real minutes, whatever the simulator's clock says.
 */
import type { GenesysClientStats } from '../genesys/client.js';

export interface PlatformBudget {
  requestsPerMinute: number;
  callsLastMinute: number;
  callsLastHour: number;
  throttledLastMinute: number;
  throttledLastHour: number;
  retriesLastMinute: number;
}

export interface BudgetSampler {
  read(): PlatformBudget;
  stop(): void;
}

interface Sample {
  at: number;
  requests: number;
  throttled: number;
  retries: number;
}

const HOUR_MS = 3_600_000;

export function createBudgetSampler(opts: {
  stats: () => Pick<GenesysClientStats, 'requests' | 'retries' | 'throttled'>;
  requestsPerMinute: number;
  sampleIntervalMs?: number;
  now?: () => number;
}): BudgetSampler {
  const now = opts.now ?? Date.now;
  const samples: Sample[] = [];
  const take = (): Sample => {
    const s = opts.stats();
    return { at: now(), requests: s.requests, throttled: s.throttled, retries: s.retries };
  };
  const sample = () => {
    samples.push(take());
    while (samples.length > 1 && samples[0]!.at < now() - HOUR_MS) samples.shift();
  };
  sample();
  const timer = setInterval(sample, opts.sampleIntervalMs ?? 5_000);
  timer.unref();
  /** The oldest sample no older than `ms` (the first one while the process is younger). */
  const since = (ms: number): Sample => samples.find((s) => s.at >= now() - ms) ?? samples[0]!;
  return {
    read() {
      const current = take();
      const minute = since(60_000);
      const hour = since(HOUR_MS);
      return {
        requestsPerMinute: opts.requestsPerMinute,
        callsLastMinute: current.requests - minute.requests,
        callsLastHour: current.requests - hour.requests,
        throttledLastMinute: current.throttled - minute.throttled,
        throttledLastHour: current.throttled - hour.throttled,
        retriesLastMinute: current.retries - minute.retries,
      };
    },
    stop: () => clearInterval(timer),
  };
}
