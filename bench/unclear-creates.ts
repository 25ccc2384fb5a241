/**
 * Benchmark: unclear creates resolved without a duplicate, and the time from the unclear answer to
 * `pending` (simulator time), with the notification channel up and with it down.
 *
 * The submitter runs on the built dist/ modules against the simulator (manual clock, default 5 s
 * analytics and search lags) with a SQLite ledger; every create is committed on the platform but
 * its answer is lost (`commitNoAnswer`), so each one is unclear and must be found by its
 * callbackId (src/genesys/lookup.ts). Channel up: a notification listener feeds the look-up's event
 * index, as serve does. Channel down: the look-up has only the search and the details query.
 * Time advances in 1 s steps; each step runs the submitter once.
 *
 * Target: p99 ≤ 15 s with the channel up; 0 duplicates and 0 lost either way.
 *
 *   npm run build && npx tsx bench/unclear-creates.ts      knobs: BENCH_UNCLEAR (50)
 */
import { join } from 'node:path';
import { createEventsListener } from '../dist/adapters/notifications.js';
import { fingerprintSpec } from '../dist/domain/fingerprint.js';
import type { CallbackSpec } from '../dist/domain/types.js';
import { createGenesysClient } from '../dist/genesys/client.js';
import { createCallbackEventIndex, createCallbackLookup } from '../dist/genesys/lookup.js';
import { createSubmitter } from '../dist/jobs/submit.js';
import { acceptedOutbox } from '../dist/ledger/events.js';
import { openStore } from '../dist/ledger/index.js';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../dist/simulator/index.js';
import { atMost, distribution, envNumber, finish, isMain, log, round, start, tempDir } from './lib/common.js';

interface Run {
  channel: 'up' | 'down';
  unclear: number;
  adopted: number;
  duplicates: number;
  lost: number;
  toPendingS: ReturnType<typeof distribution>;
  settledBy: Record<string, number>;
  platformCallsPerUnclear: number;
}

async function runOnce(channel: 'up' | 'down', n: number): Promise<Run> {
  const t0 = Date.parse('2030-01-15T15:00:00.000Z');
  const sim = await startSimulator({ startTime: t0, requestsPerMinute: 1_000_000 });
  const dir = tempDir(`unclear-${channel}`);
  const store = await openStore(join(dir.path, 'ledger.db'));
  await store.migrate();
  const clock = { now: () => sim.clock.now() };
  const genesys = createGenesysClient({
    baseUrl: sim.url,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    clock,
    requestsPerMinute: 1_000_000,
    requestTimeoutMs: 2_000,
    maxRetryAfterMs: 0,
  });
  const events = createCallbackEventIndex();
  const listener =
    channel === 'up'
      ? createEventsListener({
          store,
          genesys,
          tracker: { applyConversation: async () => false },
          clock,
          queueIds: [SUPPORT_QUEUE_ID],
          eventIndex: events,
        })
      : null;
  listener?.start();
  if (listener) {
    const until = Date.now() + 10_000;
    while (!listener.connected() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }
  const lookup = createCallbackLookup({
    genesys,
    clock,
    ...(channel === 'up' ? { events } : {}),
    searchLagMs: 60_000,
    detailsLagMs: 60_000,
  });
  const submitter = createSubmitter({
    store,
    genesys,
    clock,
    workerId: `bench-${channel}`,
    lookup,
    channels: [],
  });
  sim.control.addFault({ endpoint: 'createCallback', kind: 'commitNoAnswer', times: n });

  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const spec: CallbackSpec = {
      callbackId: `cb-unclear-${channel}-${i}`,
      callbackNumber: `+1415555${String(1000 + i).padStart(4, '0')}`,
      callbackFrom: '+18005551234',
      callbackTo: '+18005551234',
      scheduledTime: new Date(t0 + 86_400_000).toISOString(),
      timeout: 300,
      routingData: { queueId: SUPPORT_QUEUE_ID, priority: 0 },
      mediaType: 'voice',
      customerData: { externalId: `bench-${i}` },
    };
    const at = clock.now();
    await store.accept({
      tenantId: 'demo',
      spec,
      fingerprint: fingerprintSpec(spec),
      at,
      outbox: acceptedOutbox('demo', spec, at),
    });
    ids.push(spec.callbackId);
  }
  sim.control.resetCounters();
  const unclearAt = new Map<string, number>();
  const pendingAt = new Map<string, number>();
  for (let step = 0; step < 600 && pendingAt.size < n; step++) {
    await submitter.runOnce();
    // Let the socket's events in before the next step.
    if (listener) await listener.drain();
    for (const id of ids) {
      const rec = await store.get('demo', id);
      if (!rec) continue;
      if (rec.submitInFlightAt !== null && !unclearAt.has(id)) unclearAt.set(id, clock.now());
      if (rec.status === 'pending' && !pendingAt.has(id)) pendingAt.set(id, clock.now());
    }
    sim.clock.advanceMs(1_000);
    await new Promise((r) => setImmediate(r));
  }
  const settledBy: Record<string, number> = {};
  let adopted = 0;
  const waits: number[] = [];
  for (const id of ids) {
    const rec = await store.get('demo', id);
    const adoptedRow = rec?.history.find((h) => h.reason?.code === 'LOOKUP_ADOPTED');
    if (adoptedRow) {
      adopted++;
      const by = /found on the platform by (\w+)/.exec(adoptedRow.reason?.message ?? '')?.[1] ?? '?';
      settledBy[by] = (settledBy[by] ?? 0) + 1;
    }
    const u = unclearAt.get(id);
    const p = pendingAt.get(id);
    if (u !== undefined && p !== undefined) waits.push((p - u) / 1000);
  }
  const perId = ids.map((id) => sim.control.conversations({ callbackId: id }).length);
  const calls = sim.control.requestCount() - sim.control.requestCount('token');
  await listener?.stop();
  await genesys.close();
  await store.close();
  await sim.close();
  dir.remove();
  return {
    channel,
    unclear: unclearAt.size,
    adopted,
    duplicates: perId.filter((c) => c > 1).length,
    lost: ids.length - pendingAt.size,
    toPendingS: distribution(waits),
    settledBy,
    platformCallsPerUnclear: round(calls / n, 2),
  };
}

export async function runUnclearCreates() {
  const n = envNumber('BENCH_UNCLEAR', 50);
  const up = await runOnce('up', n);
  const down = await runOnce('down', n);
  return { n, up, down };
}

if (isMain(import.meta.url)) {
  const started = start('unclear creates');
  const r = await runUnclearCreates();
  for (const run of [r.up, r.down]) {
    log(
      `channel ${run.channel}: ${run.unclear} unclear creates, ${run.adopted} adopted (${JSON.stringify(run.settledBy)}), ${run.duplicates} duplicates, ${run.lost} not pending; unclear → pending p50 ${run.toPendingS.p50} s, p99 ${run.toPendingS.p99} s; ${run.platformCallsPerUnclear} platform calls per callback (create + look-ups)`,
    );
  }
  finish(
    {
      name: 'unclear-creates',
      method: {
        unclear: r.n,
        how: 'every create committed on the simulator with its answer lost (commitNoAnswer); submitter from dist/ with the look-up of src/genesys/lookup.ts; simulator lags 5 s (analytics, search); look-up lag windows 60 s; 1 s steps of simulator time',
      },
      measured: { up: r.up, down: r.down },
      checks: [
        atMost('channel up: unclear → pending p99', r.up.toPendingS.p99, 15, 's', true),
        atMost('channel up: duplicates', r.up.duplicates, 0, '', true),
        atMost('channel down: duplicates', r.down.duplicates, 0, '', true),
        atMost('channel up + down: not pending (lost)', r.up.lost + r.down.lost, 0, '', true),
      ],
      summary: `unclear → pending p50/p99: ${r.up.toPendingS.p50}/${r.up.toPendingS.p99} s with the channel, ${r.down.toPendingS.p50}/${r.down.toPendingS.p99} s without; duplicates ${r.up.duplicates + r.down.duplicates}`,
    },
    started,
  );
}
