/**
 * Child process of the scale benchmark: opens a ledger with callbackd's own store (dist), runs
 * ONE reconciliation sweep of the tracker (defaults: pages of 200, at most 200 platform reads)
 * against a simulator, and prints one JSON line: the sweep's duration, what it read, and the
 * process's memory (RSS sampled every 5 ms during the sweep, and the kernel's high-water mark).
 *
 *   node --import tsx bench/lib/sweep-probe.ts <ledger file> <simulator url>
 */
import { CallbackdConfigSchema, defaultConfigInput } from '../../dist/config/index.js';
import { systemClock } from '../../dist/domain/types.js';
import { createGenesysClient } from '../../dist/genesys/client.js';
import { createTracker } from '../../dist/jobs/tracker.js';
import { openStore } from '../../dist/ledger/index.js';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET } from '../../dist/simulator/index.js';
import { procMemoryMb } from './common.js';

const [file, simUrl] = process.argv.slice(2);
if (!file || !simUrl) {
  process.stderr.write('usage: sweep-probe.ts <ledger file> <simulator url>\n');
  process.exit(2);
}

const config = CallbackdConfigSchema.parse(defaultConfigInput());
const store = openStore(file);
await store.migrate();
const genesys = createGenesysClient({
  baseUrl: simUrl,
  clientId: DEMO_CLIENT_ID,
  clientSecret: DEMO_CLIENT_SECRET,
  requestsPerMinute: 100_000,
});
let pages = 0;
let rowsWalked = 0;
const countingStore = new Proxy(store, {
  get(target, prop, receiver) {
    if (prop === 'listNonTerminal') {
      return async (afterPk: number | null, limit: number) => {
        const page = await target.listNonTerminal(afterPk, limit);
        pages++;
        rowsWalked += page.items.length;
        return page;
      };
    }
    const value = Reflect.get(target, prop, receiver);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});
let errors = 0;
const tracker = createTracker({
  store: countingStore,
  genesys,
  clock: systemClock,
  policies: (queueId) => config.queues[queueId],
  channels: [],
  pollIntervalMs: config.tracking.pollIntervalMs,
  sweepIntervalMs: config.tracking.sweepIntervalMs,
  recentChangeWindowMs: config.tracking.recentWindowMs,
  onError: () => {
    errors++;
  },
});

// Warm the OAuth token so the sweep measures the sweep.
await genesys.getQueue('a1b2c3d4-e5f6-7890-abcd-ef1234567890');
global.gc?.();
const before = procMemoryMb();
let peakRss = before?.rssMb ?? 0;
const sampler = setInterval(() => {
  const m = procMemoryMb();
  if (m) peakRss = Math.max(peakRss, m.rssMb);
}, 5);
const t0 = performance.now();
const result = await tracker.sweepOnce();
const ms = performance.now() - t0;
clearInterval(sampler);
const after = procMemoryMb();
process.stdout.write(
  `${JSON.stringify({
    sweepMs: Math.round(ms),
    pages,
    rowsWalked,
    checked: result.checked,
    changed: result.changed,
    errors: result.errors + errors,
    rssBeforeMb: before?.rssMb,
    rssPeakSampledMb: Math.max(peakRss, after?.rssMb ?? 0),
    rssHighWaterMb: after?.hwmMb,
  })}\n`,
);
await genesys.close();
await store.close();
