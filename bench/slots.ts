/**
 * Benchmark: GET /api/v2/routing/queues/{queueId}/slots, the call a booking page makes on every
 * keystroke. A 7-day window at 15-minute slots on a SQLite ledger holding 10,000 open callbacks in
 * that week (slots capacity 40, every slot partly taken), over loopback HTTP against the real
 * server (built dist), requests one after another and then 8 at a time.
 *
 * Target: p99 < 50 ms per request, one at a time.
 *
 *   npm run build && npx tsx bench/slots.ts
 *   knobs: BENCH_SLOTS_CALLBACKS (10000), BENCH_SLOTS_REQUESTS (300)
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { staticTrustedNumbers } from '../dist/adapters/customers.js';
import { createApiKey } from '../dist/api/keys.js';
import { apiRoutes } from '../dist/api/routes.js';
import { buildServer } from '../dist/api/server.js';
import { defaultConfigInput } from '../dist/config/defaults.js';
import { CallbackdConfigSchema } from '../dist/config/schema.js';
import { fingerprintSpec } from '../dist/domain/fingerprint.js';
import { parseQueuePolicy } from '../dist/domain/policy.js';
import type { CallbackSpec } from '../dist/domain/types.js';
import { openStore } from '../dist/ledger/index.js';
import {
  atMost,
  distribution,
  envNumber,
  finish,
  isMain,
  log,
  mapLimit,
  round,
  start,
  tempDir,
} from './lib/common.js';

const QUEUE = 'bench-slots-queue';
const NOW = Date.parse('2030-01-07T12:00:00.000Z'); // Monday 07:00 New York
const WEEK_MS = 7 * 86_400_000;
const SLOT_MS = 15 * 60_000;

const unreachablePlatform = new Proxy(
  {},
  { get: () => () => Promise.reject(new Error('the slots benchmark makes no platform calls')) },
);

async function run(): Promise<void> {
  const started = start('slots');
  const callbacks = envNumber('BENCH_SLOTS_CALLBACKS', 10_000);
  const requests = envNumber('BENCH_SLOTS_REQUESTS', 300);
  const dir = tempDir('slots');
  const store = openStore(join(dir.path, 'ledger.db'));
  await store.migrate();
  const config = CallbackdConfigSchema.parse(defaultConfigInput());
  const { name: _name, ...support } = config.queues['a1b2c3d4-e5f6-7890-abcd-ef1234567890']!;
  const policy = parseQueuePolicy({ ...support, slots: { minutes: 15, capacity: 40 } });
  const queues = new Map([[QUEUE, { name: 'Bench', policy }]]);

  // 10,000 open callbacks on slot starts across the week (the first slot is after minLeadSeconds).
  const slotsInWeek = WEEK_MS / SLOT_MS;
  const loadStarted = performance.now();
  await mapLimit(
    Array.from({ length: callbacks }, (_, i) => i),
    32,
    async (i) => {
      const scheduledMs = NOW + SLOT_MS * (1 + (i % (slotsInWeek - 1)));
      const spec: CallbackSpec = {
        callbackId: `bench-${i}`,
        callbackNumber: '+14155552671',
        callbackFrom: '+18005551234',
        callbackTo: '+18005551234',
        scheduledTime: new Date(scheduledMs).toISOString(),
        timeout: 300,
        routingData: { queueId: QUEUE, priority: 0 },
        mediaType: 'voice',
        customerData: { externalId: `CRM-${i}` },
      };
      await store.accept({
        tenantId: 'bench',
        spec,
        fingerprint: fingerprintSpec(spec),
        at: NOW,
        outbox: [],
      });
    },
  );
  log(`loaded ${callbacks} open callbacks in ${round((performance.now() - loadStarted) / 1000, 1)} s`);

  const clock = { now: () => NOW };
  const app = await buildServer({
    store,
    intake: { ratePerSecond: 1_000_000, burst: 1_000_000 },
    logger: pino({ level: 'silent' }),
    routes: apiRoutes({
      clock,
      queues,
      trusted: staticTrustedNumbers(),
      genesys: unreachablePlatform as never,
      version: 'bench',
      webDir: join(dir.path, 'web'),
    }),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const { key } = await createApiKey(store, {
    tenantId: 'bench',
    scopes: ['routing:callback:view'],
    clock,
  });
  const path = `/api/v2/routing/queues/${QUEUE}/slots?from=${new Date(NOW).toISOString()}&to=${new Date(NOW + WEEK_MS).toISOString()}&timeZone=America/New_York`;
  const headers = { authorization: `Bearer ${key}` };
  const one = async (): Promise<{ ms: number; slots: number }> => {
    const t0 = performance.now();
    const res = await fetch(url + path, { headers });
    const body = (await res.json()) as { slots?: unknown[] };
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`GET slots answered ${res.status}: ${JSON.stringify(body)}`);
    return { ms, slots: body.slots?.length ?? 0 };
  };
  try {
    for (let i = 0; i < 20; i++) await one(); // warm-up: JIT, statement cache
    const sequential: number[] = [];
    let slots = 0;
    for (let i = 0; i < requests; i++) {
      const r = await one();
      sequential.push(r.ms);
      slots = r.slots;
    }
    const concurrent: number[] = [];
    await mapLimit(Array.from({ length: requests }), 8, async () => {
      concurrent.push((await one()).ms);
    });
    const seq = distribution(sequential);
    const par = distribution(concurrent);
    const fmt = (d: typeof seq) =>
      `p50 ${round(d.p50, 1)} ms, p95 ${round(d.p95, 1)} ms, p99 ${round(d.p99, 1)} ms, max ${round(d.max, 1)} ms`;
    log(`one at a time (${requests}): ${fmt(seq)}`);
    log(`8 at a time (${requests}): ${fmt(par)}`);
    finish(
      {
        name: 'slots',
        method: {
          callbacks,
          requests,
          window: '7 days, 15-minute slots, capacity 40, calling window 08:00–21:00 America/New_York',
          ledger: 'SQLite file',
          transport: 'loopback HTTP, built dist',
        },
        measured: { slotsPerAnswer: slots, sequentialMs: seq, concurrent8Ms: par },
        checks: [atMost('slots p99, 7 days, 10,000 booked, one at a time', seq.p99, 50, 'ms')],
        summary: `slots: GET …/slots for 7 days (${slots} slots) over ${callbacks} booked callbacks: ${fmt(seq)} one at a time; ${fmt(par)} 8 at a time`,
      },
      started,
    );
  } finally {
    await app.close();
    await store.close();
    dir.remove();
  }
}

if (isMain(import.meta.url)) {
  run().catch((err) => {
    process.stderr.write(`slots benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
