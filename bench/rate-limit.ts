/**
 * Benchmark 3, rate-limit use: 2,000 callbacks accepted at once (a backlog, as after a bulk
 * import) against a simulator that allows 600 requests per minute per token. How long until all
 * are created on the platform, against the floor N ÷ limit, and how many calls were refused (429)?
 *
 * callbackd's engine runs in this process on the built dist/ modules: the submitter with the
 * capacity gate, its Genesys client budget set to the org's limit (genesys.requestsPerMinute:
 * 600, as an operator would configure it), on the simulator's clock. The whole run is time-scaled:
 * the simulator's manual clock is driven at BENCH_RATE_SPEED × wall time and every sleep of the
 * client (limiter, backoff, Retry-After) and of the worker loops is shortened by the same factor,
 * so the limiter sees exactly the minute it would see in real time. BENCH_RATE_SPEED=1 runs the
 * full thing in real time (about four minutes per phase).
 *
 * Phase A (the target): submitter alone, the tracker idle — the limiter's own efficiency.
 * Phase B (context): the tracker runs too, as in `callbackd serve`, sharing the same budget; it
 * shows how much of the limit the creates get while reads of freshly created callbacks compete.
 *
 * Targets (phase A): drain at ≥ 0.95 of the limit (floor ÷ drain time); 429s < 1% of calls.
 *
 *   npm run build && npx tsx bench/rate-limit.ts
 *   knobs: BENCH_RATE_SPEED (4), BENCH_RATE_N (2000), BENCH_RATE_LIMIT (600),
 *          BENCH_RATE_B_MINUTES (3, simulated minutes phase B runs at most),
 *          BENCH_RATE_BURST (the client's burst; default a tenth of the limit)
 */
import { join } from 'node:path';
import { CallbackdConfigSchema, defaultConfigInput } from '../dist/config/index.js';
import { fingerprintSpec } from '../dist/domain/fingerprint.js';
import type { CallbackSpec } from '../dist/domain/types.js';
import { createGenesysClient } from '../dist/genesys/client.js';
import { createCapacityGate } from '../dist/jobs/capacity.js';
import { createSubmitter } from '../dist/jobs/submit.js';
import { createTracker } from '../dist/jobs/tracker.js';
import { acceptedOutbox } from '../dist/ledger/events.js';
import { openStore } from '../dist/ledger/index.js';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../dist/simulator/index.js';
import {
  atLeast,
  atMost,
  envNumber,
  finish,
  isMain,
  log,
  round,
  sleep,
  start,
  tempDir,
} from './lib/common.js';

const START_MS = Date.UTC(2030, 0, 15, 15, 0, 0);
const MINUTE = 60_000;

function spec(i: number): CallbackSpec {
  return {
    callbackId: `bench-rl-${i}`,
    callbackNumber: `+1415557${String(i).padStart(4, '0')}`,
    callbackFrom: '+18005551234',
    callbackTo: '+18005551234',
    // Tomorrow: nothing falls due during the run, so only creates and early reads are made.
    scheduledTime: new Date(START_MS + 24 * 60 * MINUTE + i * 1000).toISOString(),
    timeout: 300,
    routingData: { queueId: SUPPORT_QUEUE_ID, priority: 0, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
    mediaType: 'voice',
    customerData: { externalId: `CRM-R${i}`, firstName: 'Bench', lastName: `Customer ${i}` },
  };
}

interface PhaseResult {
  tracker: boolean;
  created: number;
  /** Simulated ms from the backlog's acceptance to the last create answered (or the cap). */
  drainMs: number;
  drained: boolean;
  calls: number;
  throttled: number;
  byEndpoint: Record<string, Record<string, number>>;
  wallSeconds: number;
}

async function phase(opts: {
  tracker: boolean;
  n: number;
  limit: number;
  speed: number;
  capMs: number;
  burst: number | undefined;
}): Promise<PhaseResult> {
  const { n, limit, speed } = opts;
  const config = CallbackdConfigSchema.parse(defaultConfigInput());
  // The demo Support queue takes 1,000 waiting callbacks; the backlog is bigger, so (as an
  // operator with a bigger queue would) raise it — else the capacity gate rightly defers the rest.
  const support = config.queues[SUPPORT_QUEUE_ID]!;
  config.queues[SUPPORT_QUEUE_ID] = { ...support, maxCallbacks: Math.max(support.maxCallbacks, 2 * n) };
  const policies = (queueId: string) => config.queues[queueId];
  const dir = tempDir('rate-limit');
  // Enough agents that the platform side never backs up; nothing falls due anyway.
  const sim = await startSimulator({ startTime: START_MS, requestsPerMinute: limit, seed: 1 });
  const store = openStore(join(dir.path, 'ledger.db'));
  await store.migrate();
  const clock = sim.clock;
  const scaledSleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms / speed);
      signal?.addEventListener('abort', done, { once: true });
    });
  const client = createGenesysClient({
    baseUrl: sim.url,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    requestsPerMinute: limit,
    ...(opts.burst === undefined ? {} : { burst: opts.burst }),
    requestTimeoutMs: config.genesys.requestTimeoutMs,
    clock,
    sleep: scaledSleep,
  });
  let created = 0;
  let lastCreateAt = clock.now();
  const genesys: typeof client = {
    ...client,
    createCallback: async (s, o) => {
      const r = await client.createCallback(s, o);
      created++;
      lastCreateAt = clock.now();
      return r;
    },
  };
  const submitter = createSubmitter({
    store,
    genesys,
    clock,
    workerId: 'bench-rate-limit',
    capacity: createCapacityGate({ genesys, clock, policies }),
    policies,
    channels: [],
  });
  const tracker = createTracker({
    store,
    genesys,
    clock,
    policies,
    channels: [],
    pollIntervalMs: config.tracking.pollIntervalMs,
    sweepIntervalMs: config.tracking.sweepIntervalMs,
    recentChangeWindowMs: config.tracking.recentWindowMs,
  });

  try {
    // The backlog: n accepts at one instant, committed in groups as concurrent API accepts are.
    const t0 = clock.now();
    for (let i = 0; i < n; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, n - i) }, (_, k) => {
          const s = spec(i + k);
          return store.accept({
            tenantId: 'demo',
            spec: s,
            fingerprint: fingerprintSpec(s),
            at: t0,
            outbox: acceptedOutbox('demo', s, t0, []),
          });
        }),
      );
    }
    // Warm the token up front so the OAuth exchange is not part of the drain.
    await client.queueObservations([SUPPORT_QUEUE_ID]);
    sim.control.resetCounters();

    const wall0 = performance.now();
    const sim0 = clock.now();
    const driver = setInterval(() => clock.advanceTo(sim0 + (performance.now() - wall0) * speed), 2);
    let stop = false;
    const submitLoop = (async () => {
      while (!stop) {
        const r = await submitter.runOnce();
        if (r.jobs === 0) await scaledSleep(1_000);
      }
    })();
    const trackLoop = opts.tracker
      ? (async () => {
          while (!stop) {
            await tracker.runOnce();
            await scaledSleep(config.tracking.pollIntervalMs);
          }
        })()
      : Promise.resolve();
    const capAt = sim0 + opts.capMs;
    while (created < n && clock.now() < capAt) await sleep(20);
    const drainedAt = created >= n ? lastCreateAt : clock.now();
    // Counted now: calls the loops still make while stopping fall outside the measured time.
    const counters = sim.control.counters();
    const calls = sim.control.requestCount() - sim.control.requestCount('token');
    const createdAtEnd = created;
    stop = true;
    submitter.loop.wake();
    await Promise.all([submitLoop, trackLoop]);
    clearInterval(driver);
    const wallSeconds = round((performance.now() - wall0) / 1000, 1);

    const throttled = Object.entries(counters)
      .filter(([e]) => e !== 'token')
      .reduce((a, [, m]) => a + (m['429'] ?? 0), 0);
    const pending = (await store.list('demo', { status: 'pending' }, null, n)).items.length;
    if (created >= n && pending !== n)
      log(`warning: ${created} creates answered but ${pending} callbacks pending in the ledger`);
    return {
      tracker: opts.tracker,
      created: createdAtEnd,
      drainMs: drainedAt - t0,
      drained: created >= n,
      calls,
      throttled,
      byEndpoint: counters,
      wallSeconds,
    };
  } finally {
    await client.close();
    await store.close();
    await sim.close();
    dir.remove();
  }
}

export async function run(): Promise<void> {
  const started = start('rate-limit');
  const speed = envNumber('BENCH_RATE_SPEED', 4);
  const n = envNumber('BENCH_RATE_N', 2000);
  const limit = envNumber('BENCH_RATE_LIMIT', 600);
  const bMinutes = envNumber('BENCH_RATE_B_MINUTES', 3);
  // The client's burst (default: a tenth of the limit); set to see what a smaller one would give.
  const burst = process.env.BENCH_RATE_BURST ? envNumber('BENCH_RATE_BURST', 1) : undefined;
  const floorMs = (n / limit) * MINUTE;
  log(
    `${n} submissions, simulator limit ${limit}/min per token, floor ${round(floorMs / 1000, 1)} s; time scale ${speed}×`,
  );

  const a = await phase({ tracker: false, n, limit, speed, capMs: 4 * floorMs, burst });
  const aRatio = floorMs / a.drainMs;
  const aMinutes = a.drainMs / MINUTE;
  log(
    `phase A (submitter alone): ${a.created}/${n} created in ${round(a.drainMs / 1000, 1)} s simulated (${a.wallSeconds} s wall)`,
  );
  log(
    `  floor ÷ drain = ${round(aRatio, 3)}; all calls ${a.calls} = ${round(a.calls / aMinutes, 0)}/min = ${round(a.calls / aMinutes / limit, 3)} of the limit; 429s ${a.throttled}`,
  );
  for (const [e, m] of Object.entries(a.byEndpoint)) log(`  ${e}: ${JSON.stringify(m)}`);

  const b = await phase({ tracker: true, n, limit, speed, capMs: bMinutes * MINUTE, burst });
  const bMinutesRun = b.drainMs / MINUTE;
  const bCreateShare = b.created / Math.max(1, b.calls);
  log(
    `phase B (submitter + tracker, as in serve): ${b.created}/${n} created in ${round(b.drainMs / 1000, 1)} s simulated${b.drained ? '' : ' (stopped at the cap)'} (${b.wallSeconds} s wall)`,
  );
  log(
    `  creates ${round(b.created / bMinutesRun, 0)}/min = ${round(b.created / bMinutesRun / limit, 3)} of the limit; all calls ${round(b.calls / bMinutesRun, 0)}/min = ${round(b.calls / bMinutesRun / limit, 3)} of the limit; 429s ${b.throttled}`,
  );
  for (const [e, m] of Object.entries(b.byEndpoint)) log(`  ${e}: ${JSON.stringify(m)}`);

  const drainCheck = atLeast('phase A drain rate ÷ limit (floor N÷limit ÷ drain time)', aRatio, 0.95);
  const throttleCheck = atMost('phase A 429s ÷ calls', (100 * a.throttled) / Math.max(1, a.calls), 1, '%');
  finish(
    {
      name: 'rate-limit',
      method: {
        submissions: n,
        simulatorLimitPerMinute: limit,
        floorSeconds: round(floorMs / 1000, 1),
        clientBudgetPerMinute: limit,
        clientBurst: burst ?? `default (${Math.floor(limit / 10)}: a tenth of the limit)`,
        timeScale: `${speed}× (simulator manual clock driven at ${speed}× wall time; client limiter, backoff and worker sleeps shortened ${speed}×)`,
        engine:
          'dist/ submitter + capacity gate (+ tracker in phase B); default config except Support maxCallbacks raised above the backlog (the demo queue takes 1,000 waiting)',
        phaseA: 'submitter alone (tracker idle): the target',
        phaseB: `submitter + tracker as in serve, at most ${bMinutes} simulated minutes: context`,
        drain: 'simulated time from the backlog being accepted to the last create answered',
      },
      measured: {
        phaseA: {
          ...a,
          drainSeconds: round(a.drainMs / 1000, 1),
          floorOverDrain: round(aRatio, 3),
          callsPerMinute: round(a.calls / aMinutes, 1),
          throttledPercent: round((100 * a.throttled) / Math.max(1, a.calls), 3),
        },
        phaseB: {
          ...b,
          drainSeconds: round(b.drainMs / 1000, 1),
          createsPerMinute: round(b.created / bMinutesRun, 1),
          createsOverLimit: round(b.created / bMinutesRun / limit, 3),
          callsPerMinute: round(b.calls / bMinutesRun, 1),
          callsOverLimit: round(b.calls / bMinutesRun / limit, 3),
          createShareOfCalls: round(bCreateShare, 3),
          throttledPercent: round((100 * b.throttled) / Math.max(1, b.calls), 3),
        },
      },
      checks: [drainCheck, throttleCheck],
      summary: `rate-limit: ${n} creates drained at ${round(aRatio, 3)} of the ${limit}/min limit (target ≥ 0.95, ${drainCheck.pass ? 'met' : 'SHORT'}), 429s ${round((100 * a.throttled) / Math.max(1, a.calls), 2)}% (target < 1%, ${throttleCheck.pass ? 'met' : 'SHORT'}); with the tracker sharing the budget creates got ${round(b.created / bMinutesRun / limit, 2)} of it`,
    },
    started,
  );
}

if (isMain(import.meta.url)) {
  run().catch((err) => {
    process.stderr.write(`rate-limit benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
