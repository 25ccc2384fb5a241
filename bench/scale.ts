/**
 * Benchmark 4, scale: a SQLite ledger of 1,000,000 callbacks, 100,000 of them non-terminal
 * (bulk-loaded with direct SQL, bench/lib/scale-ledger.ts).
 *
 * - One reconciliation sweep (the tracker's sweepOnce, defaults) in a fresh child process
 *   (bench/lib/sweep-probe.ts): its duration and peak memory. The same probe on a 100,000-row
 *   ledger (10,000 open) in the same run shows whether memory grows with the ledger.
 * - `callbackd serve` (built dist, platform mode against a simulator) on the 1M ledger: the list
 *   API's latency at the far end of the cursor, for several filters, and the server's peak RSS.
 *
 * Targets: sweep and server peak RSS < 256 MB (flat in the ledger's size); list p99 < 50 ms.
 *
 *   npm run build && npx tsx bench/scale.ts
 *   knobs: BENCH_SCALE_ROWS (1000000), BENCH_SCALE_REQUESTS (200 per list variant)
 */
import { join } from 'node:path';
import { createGenesysClient } from '../dist/genesys/client.js';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../dist/simulator/index.js';
import {
  atMost,
  CLI,
  distribution,
  envNumber,
  finish,
  isMain,
  log,
  procMemoryMb,
  round,
  runNode,
  start,
  startChild,
  TSX,
  tempDir,
} from './lib/common.js';
import { buildLedger, type LoadedLedger } from './lib/scale-ledger.js';

const STALE = 150;
const BILLING_QUEUE_ID = 'b2c3d4e5-f6a7-8901-bcde-f12345678901';

interface SweepProbe {
  sweepMs: number;
  pages: number;
  rowsWalked: number;
  checked: number;
  changed: number;
  errors: number;
  rssBeforeMb: number;
  rssPeakSampledMb: number;
  rssHighWaterMb: number;
}

async function sweepProbe(file: string, simUrl: string): Promise<SweepProbe> {
  const out = await runNode([...TSX, '--expose-gc', 'bench/lib/sweep-probe.ts', file, simUrl], {}, 300_000);
  const line = out.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as SweepProbe;
}

/** A cursor for `afterPk` under `query`'s filters, made from a real cursor the API issued. */
async function farCursor(url: string, headers: Record<string, string>, query: string, afterPk: number) {
  const res = await fetch(`${url}/api/v2/routing/callbacks?limit=1${query ? `&${query}` : ''}`, { headers });
  if (res.status !== 200)
    throw new Error(`list ${query} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const body = (await res.json()) as { nextCursor: string | null };
  if (!body.nextCursor) throw new Error(`list ${query} gave no cursor`);
  const decoded = JSON.parse(Buffer.from(body.nextCursor, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  decoded.a = afterPk;
  return Buffer.from(JSON.stringify(decoded), 'utf8').toString('base64url');
}

async function timeList(url: string, headers: Record<string, string>, path: string, requests: number) {
  const times: number[] = [];
  let items = -1;
  for (let i = 0; i < requests + 20; i++) {
    const t = performance.now();
    const res = await fetch(url + path, { headers });
    const body = (await res.json()) as { items?: unknown[] };
    const ms = performance.now() - t;
    if (res.status !== 200)
      throw new Error(`GET ${path} answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    items = body.items?.length ?? -1;
    if (i >= 20) times.push(ms);
  }
  const d = distribution(times);
  return { items, p50: round(d.p50), p99: round(d.p99), max: round(d.max), requests };
}

export async function run(): Promise<void> {
  const started = start('scale');
  const rows = envNumber('BENCH_SCALE_ROWS', 1_000_000);
  const requests = envNumber('BENCH_SCALE_REQUESTS', 200);
  const dir = tempDir('scale');
  const sim = await startSimulator({ realTime: true, requestsPerMinute: 100_000_000 });
  try {
    // Real platform callbacks for the rows a sweep must read (due tomorrow: they stay pending).
    const client = createGenesysClient({
      baseUrl: sim.url,
      clientId: DEMO_CLIENT_ID,
      clientSecret: DEMO_CLIENT_SECRET,
      requestsPerMinute: 100_000,
    });
    const staleIds: string[] = [];
    for (let i = 0; i < STALE; i++) {
      const created = await client.createCallback({
        callbackId: `bench-stale-${i}`,
        callbackNumber: '+14155552671',
        callbackFrom: '+18005551234',
        callbackTo: '+18005551234',
        scheduledTime: new Date(Date.now() + 2 * 86_400_000).toISOString(),
        timeout: 300,
        routingData: { queueId: SUPPORT_QUEUE_ID, priority: 0 },
        mediaType: 'voice',
        customerData: { externalId: `CRM-STALE-${i}` },
      });
      staleIds.push(created.conversationId);
    }
    await client.close();

    const nowMs = Date.now();
    const smallFile = join(dir.path, 'small.db');
    const bigFile = join(dir.path, 'big.db');
    const small = await buildLedger(smallFile, {
      total: Math.round(rows / 10),
      openEvery: 10,
      staleConversationIds: staleIds,
      nowMs,
    });
    log(
      `built ${small.rows} rows (${small.open} open, ${small.stale} stale) in ${small.seconds} s, ${small.fileMb} MB`,
    );
    const big: LoadedLedger = await buildLedger(bigFile, {
      total: rows,
      openEvery: 10,
      staleConversationIds: staleIds,
      nowMs,
    });
    log(
      `built ${big.rows} rows (${big.open} open, ${big.stale} stale) in ${big.seconds} s, ${big.fileMb} MB`,
    );

    const sweepSmall = await sweepProbe(smallFile, sim.url);
    log(
      `sweep, ${small.rows} rows: ${sweepSmall.sweepMs} ms, ${sweepSmall.rowsWalked} open rows walked in ${sweepSmall.pages} pages, ${sweepSmall.checked} read on the platform; RSS ${sweepSmall.rssBeforeMb} → peak ${sweepSmall.rssPeakSampledMb} MB (high-water ${sweepSmall.rssHighWaterMb})`,
    );
    const sweepBig = await sweepProbe(bigFile, sim.url);
    log(
      `sweep, ${big.rows} rows: ${sweepBig.sweepMs} ms, ${sweepBig.rowsWalked} open rows walked in ${sweepBig.pages} pages, ${sweepBig.checked} read on the platform; RSS ${sweepBig.rssBeforeMb} → peak ${sweepBig.rssPeakSampledMb} MB (high-water ${sweepBig.rssHighWaterMb})`,
    );

    // The list API on the big ledger, through callbackd serve.
    const env = {
      CALLBACKD_DB: bigFile,
      GENESYS_BASE_URL: sim.url,
      GENESYS_CLIENT_ID: DEMO_CLIENT_ID,
      GENESYS_CLIENT_SECRET: DEMO_CLIENT_SECRET,
    };
    const key = (await runNode([CLI, 'keys', 'create', '--tenant', 'demo', '--scopes', 'all'], env)).trim();
    const serve = await startChild({
      name: 'callbackd serve',
      args: [CLI, 'serve', '--port', '0'],
      env,
      ready: /^listening on (http:\/\/\S+)/,
      timeoutMs: 60_000,
    });
    const url = serve.ready[1]!;
    const headers = { authorization: `Bearer ${key}` };
    const lists: Record<string, Awaited<ReturnType<typeof timeList>>> = {};
    let serveMemory: ReturnType<typeof procMemoryMb> = null;
    try {
      const variants: [string, string, number][] = [
        ['all, first page', '', -1],
        ['all, far end', '', big.maxPk - 50],
        ['status=pending, far end', 'status=pending', big.lastPendingPk - 500],
        [
          `status=completed&queueId=Billing, far end`,
          `status=completed&queueId=${BILLING_QUEUE_ID}`,
          big.maxPk - 10_000,
        ],
        [
          'from/to (last 2 days), far end',
          `from=${new Date(nowMs - 2 * 86_400_000).toISOString()}&to=${new Date(nowMs).toISOString()}`,
          big.maxPk - 2_000,
        ],
      ];
      for (const [name, query, afterPk] of variants) {
        const cursor = afterPk < 0 ? '' : `cursor=${await farCursor(url, headers, query, afterPk)}`;
        const qs = [query, cursor].filter(Boolean).join('&');
        lists[name] = await timeList(
          url,
          headers,
          `/api/v2/routing/callbacks${qs ? `?${qs}` : ''}`,
          requests,
        );
        const l = lists[name]!;
        log(`list ${name}: p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms (${l.items} items per page)`);
      }
    } finally {
      serveMemory = procMemoryMb(serve.pid);
      await serve.stop();
    }
    log(
      `callbackd serve on the ${big.rows}-row ledger: RSS ${serveMemory?.rssMb} MB, high-water ${serveMemory?.hwmMb} MB`,
    );

    const worstList = Object.entries(lists)
      .filter(([name]) => name.endsWith('far end'))
      .sort((a, b) => b[1].p99 - a[1].p99)[0]!;
    const growth = round(sweepBig.rssPeakSampledMb / sweepSmall.rssPeakSampledMb, 2);
    const checks = [
      atMost(`sweep peak RSS, ${big.rows}-row ledger`, sweepBig.rssPeakSampledMb, 256, 'MB'),
      atMost(`callbackd serve peak RSS, ${big.rows}-row ledger`, serveMemory?.hwmMb ?? Number.NaN, 256, 'MB'),
      atMost(`list p99 at the far end of the cursor (worst: ${worstList[0]})`, worstList[1].p99, 50, 'ms'),
    ];
    finish(
      {
        name: 'scale',
        method: {
          ledger: `${big.rows} callbacks (every 10th open: pending, due tomorrow or later; ${STALE} of them last read 7 h ago, the rest 1 min ago), terminal rows scheduled over the past 30 days; no history/outbox/job rows; loaded with direct SQL (synchronous=OFF for setup), then opened by callbackd with its own pragmas`,
          comparison: `the same shape at ${small.rows} rows`,
          sweep:
            'tracker.sweepOnce() with defaults (pages of 200, at most 200 platform reads) in a fresh child process (tsx), RSS sampled every 5 ms during the sweep',
          list: `callbackd serve (dist, platform mode against an in-process simulator), ${requests} sequential requests per variant after 20 warm-up, default page size 50; far-end cursors made from a cursor the API issued with its pk replaced`,
        },
        measured: {
          ledgers: { small, big },
          sweep: { small: sweepSmall, big: sweepBig, peakRssGrowthBigOverSmall: growth },
          list: lists,
          serveMemoryMb: serveMemory,
        },
        checks,
        summary: `scale: sweep of ${sweepBig.rowsWalked} open callbacks in a ${big.rows}-row ledger took ${sweepBig.sweepMs} ms at ${sweepBig.rssPeakSampledMb} MB peak RSS (${growth}× the 10×-smaller ledger's; target < 256 MB, ${checks[0]!.pass ? 'met' : 'SHORT'}); serve peak ${serveMemory?.hwmMb} MB; list p99 at the far end ≤ ${worstList[1].p99} ms (target < 50 ms, ${checks[2]!.pass ? 'met' : 'SHORT'})`,
      },
      started,
    );
  } finally {
    await sim.close();
    dir.remove();
  }
}

if (isMain(import.meta.url)) {
  run().catch((err) => {
    process.stderr.write(`scale benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
