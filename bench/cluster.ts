/**
 * Cluster figures (README "Performance", cluster rows): N `callbackd serve` from dist/ on one
 * PostgreSQL schema, the simulator in this process behind a proxy that timestamps every platform
 * call. Needs CALLBACKD_TEST_PG_URL (or CALLBACKD_BENCH_PG_URL).
 *
 *   npm run build && npx tsx bench/cluster.ts [calls] [drain] [intake] [failover]
 *
 * - calls: the same workload (BENCH_CLUSTER_N callbacks, no faults) with 1, 2 and 3 instances,
 *   polled and in event mode: platform calls per callback, and the ratio 3 ÷ 1.
 * - drain: 3 instances drain a backlog (callbacks accepted at once, scheduled hours ahead) under
 *   BENCH_CLUSTER_BUDGET requests per minute: the busiest sliding minute against the budget,
 *   and the share of the budget used while the backlog drains.
 * - intake: POSTs for BENCH_CLUSTER_INTAKE_S seconds at 16 concurrent, spread over 1, then 3 instances.
 * - failover: event mode, 3 instances: SIGKILL the listener's leader; time until another instance
 *   has subscribed a notification channel again (the member timeout is 2 s here).
 */
import { RetryingClient } from '../test/reliability/chaos/lib/client.js';
import { drainAndAudit } from '../test/reliability/chaos/lib/drain.js';
import { PgCluster } from '../test/reliability/chaos/lib/pg-cluster.js';
import { delay, round, seededRandom, writeResults } from '../test/reliability/chaos/lib/util.js';
import { planWorkload, sendWorkload, setUpPlatform } from '../test/reliability/chaos/lib/workload.js';
import { waitFor } from '../test/support/wait.js';

const pgUrl = process.env['CALLBACKD_BENCH_PG_URL'] ?? process.env['CALLBACKD_TEST_PG_URL'];
const N = Number(process.env['BENCH_CLUSTER_N'] ?? 150);
const BUDGET = Number(process.env['BENCH_CLUSTER_BUDGET'] ?? 300);
const INTAKE_S = Number(process.env['BENCH_CLUSTER_INTAKE_S'] ?? 10);
const log = (line: string) => console.log(line);

/** The calls workload's whole run on `instances` serves; platform calls per callback. */
async function callsPerCallback(instances: number, mode: 'poll' | 'events') {
  const c = await PgCluster.start({
    pgUrl: pgUrl!,
    instances,
    customers: 100,
    seed: 11,
    requestsPerMinute: 100_000,
    // The default timings: at test speed (2 s) a loaded machine can delay a heartbeat past the
    // timeout, hand the listener over and make the sweep repair the gap with extra reads.
    cluster: { heartbeatIntervalMs: 2_000, memberTimeoutMs: 10_000 },
    config: (base) => ({ ...base, tracking: { ...(base['tracking'] as object), mode } }),
  });
  try {
    setUpPlatform(c.sim, []);
    await c.startAll();
    const plan = planWorkload(
      {
        prefix: `calls-${instances}-${mode}`,
        requests: N,
        duplicateShare: 0,
        concurrentShare: 0,
        leadMs: { min: 8_000, max: 12_000 },
        carrierRejectShare: 0,
        refusedShare: 0,
      },
      seededRandom(5),
      c.customers,
    );
    const client = new RetryingClient({ target: () => c.nextUrl(), key: c.key, deadlineMs: 60_000 });
    const started = Date.now();
    const answers = await sendWorkload(plan, client, { ratePerSecond: 50, maxInFlight: 16 });
    await client.close();
    const watcher = c.watcher();
    const violations: never[] = [];
    const { audit } = await drainAndAudit({
      cluster: c,
      watcher,
      answers,
      requestDeadlineMs: 60_000,
      drainTimeoutMs: 180_000,
      advance: () => c.sim.clock.advanceMs(2_000),
      violations,
    });
    const calls = c.proxy.callTimes.filter((t) => t >= started).length;
    return {
      instances,
      mode,
      callbacks: audit.counts.ledgerCallbacks,
      calls,
      perCallback: round(calls / Math.max(1, audit.counts.ledgerCallbacks), 2),
      violations: violations.length + audit.violations.length,
    };
  } finally {
    await c.close();
  }
}

async function drainBacklog() {
  const c = await PgCluster.start({
    pgUrl: pgUrl!,
    instances: 3,
    customers: 100,
    seed: 12,
    requestsPerMinute: BUDGET,
  });
  try {
    setUpPlatform(c.sim, []);
    await c.startAll();
    const count = Math.round(BUDGET * 0.6);
    const plan = planWorkload(
      {
        prefix: 'drain',
        requests: count,
        duplicateShare: 0,
        concurrentShare: 0,
        // Hours ahead: the platform never dials them; the work is the creates and their first reads.
        leadMs: { min: 3 * 3_600_000, max: 4 * 3_600_000 },
        carrierRejectShare: 0,
        refusedShare: 0,
      },
      seededRandom(6),
      c.customers,
    );
    const client = new RetryingClient({ target: () => c.nextUrl(), key: c.key, deadlineMs: 60_000 });
    // Accepted at once (intake does not wait for the platform): a backlog.
    await sendWorkload(plan, client, { ratePerSecond: 1_000, maxInFlight: 32 });
    await client.close();
    const from = Date.now();
    log(`drain: ${count} callbacks accepted; 3 instances creating them under ${BUDGET}/min`);
    await waitFor(
      'every callback created on the platform',
      async () => (await c.ledgerSnapshot()).rows.every((r) => r.status === 'pending'),
      { timeoutMs: 20 * 60_000, intervalMs: 500 },
    );
    const drainedAt = Date.now();
    const busiest = c.proxy.busiestWindow(60_000, from);
    const calls = c.proxy.callTimes.filter((t) => t >= from && t <= drainedAt).length;
    const minutes = (drainedAt - from) / 60_000;
    return {
      callbacks: count,
      budget: BUDGET,
      drainSeconds: round((drainedAt - from) / 1000, 1),
      busiestSlidingMinute: busiest.calls,
      busiestOverBudget: round(busiest.calls / BUDGET, 3),
      // Calls per minute while the backlog lasted, over the budget: the share of it the cluster used.
      usedShare: round(calls / minutes / BUDGET, 3),
      wholeMinutes: c.proxy.perMinute(from, drainedAt),
    };
  } finally {
    await c.close();
  }
}

async function intake(instances: number) {
  const c = await PgCluster.start({
    pgUrl: pgUrl!,
    instances,
    customers: 100,
    seed: 13,
    requestsPerMinute: 100_000,
  });
  try {
    setUpPlatform(c.sim, []);
    await c.startAll();
    const plan = planWorkload(
      {
        prefix: `intake-${instances}`,
        requests: 100_000,
        duplicateShare: 0,
        concurrentShare: 0,
        leadMs: { min: 3 * 3_600_000, max: 4 * 3_600_000 },
        carrierRejectShare: 0,
        refusedShare: 0,
      },
      seededRandom(7),
      c.customers,
    );
    const client = new RetryingClient({ target: () => c.nextUrl(), key: c.key, deadlineMs: 30_000 });
    const until = Date.now() + INTAKE_S * 1_000;
    let next = 0;
    let created = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          const p = plan.planned[next++]!;
          const a = await client.post('/api/v2/routing/callbacks', p.make(Date.now()));
          if (a.status === 201) created++;
        }
      }),
    );
    await client.close();
    return { instances, created, perSecond: round(created / ((Date.now() - started) / 1000), 1) };
  } finally {
    await c.close();
  }
}

async function failover() {
  const c = await PgCluster.start({
    pgUrl: pgUrl!,
    instances: 3,
    customers: 20,
    seed: 14,
    requestsPerMinute: 100_000,
    config: (base) => ({ ...base, tracking: { ...(base['tracking'] as object), mode: 'events' } }),
  });
  try {
    setUpPlatform(c.sim, []);
    await c.startAll();
    const leaderOf = async () => {
      const { rows } = await c.db.query<{ holder: string }>(
        `select holder from cluster_leases where name = 'events-listener' and expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint`,
      );
      return rows[0]?.holder;
    };
    const leader = await waitFor('a listener leader', leaderOf, { timeoutMs: 30_000, intervalMs: 100 });
    const pid = Number(/-(\d+)-[^-]+$/.exec(leader)![1]);
    const index = Array.from({ length: c.size }, (_, i) => i).find((i) => c.pid(i) === pid)!;
    const subscribes = () =>
      c.sim.control.requestCount('subscribe') + c.sim.control.requestCount('replaceSubscriptions');
    const before = subscribes();
    const killedAt = Date.now();
    await c.kill(index);
    const next = await waitFor(
      'another member leading',
      async () => {
        const l = await leaderOf();
        return l && l !== leader ? l : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    const leaseMs = Date.now() - killedAt;
    await waitFor('the new leader subscribed', () => subscribes() > before, {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const subscribedMs = Date.now() - killedAt;
    await delay(100);
    return {
      memberTimeoutMs: 2_000,
      heartbeatIntervalMs: 500,
      leaseTakenMs: leaseMs,
      subscribedMs,
      newLeader: next,
    };
  } finally {
    await c.close();
  }
}

if (!pgUrl) {
  console.error(
    'bench/cluster.ts needs PostgreSQL: set CALLBACKD_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
  );
  process.exit(2);
}
const asked = process.argv.slice(2);
const want = (name: string) => asked.length === 0 || asked.includes(name);
const results: Record<string, unknown> = {};
if (want('calls')) {
  const rows = [];
  for (const mode of ['poll', 'events'] as const) {
    for (const n of [1, 2, 3]) {
      const r = await callsPerCallback(n, mode);
      log(
        `calls: ${mode}, ${n} instance(s): ${r.calls} platform calls for ${r.callbacks} callbacks = ${r.perCallback} per callback (${r.violations} audit violations)`,
      );
      rows.push(r);
    }
    const one = rows.find((r) => r.mode === mode && r.instances === 1)!;
    const three = rows.find((r) => r.mode === mode && r.instances === 3)!;
    log(`calls: ${mode}: 3 instances ÷ 1 = ${round(three.perCallback / one.perCallback, 3)}`);
  }
  results['calls'] = rows;
}
if (want('drain')) {
  const r = await drainBacklog();
  log(
    `drain: ${r.callbacks} callbacks in ${r.drainSeconds} s; busiest sliding minute ${r.busiestSlidingMinute} of ${r.budget} (${r.busiestOverBudget}); used ${r.usedShare} of the budget while draining; whole minutes ${JSON.stringify(r.wholeMinutes)}`,
  );
  results['drain'] = r;
}
if (want('intake')) {
  const one = await intake(1);
  const three = await intake(3);
  log(
    `intake: 1 instance ${one.perSecond}/s, 3 instances ${three.perSecond}/s (ratio ${round(three.perSecond / one.perSecond, 2)})`,
  );
  results['intake'] = { one, three, ratio: round(three.perSecond / one.perSecond, 2) };
}
if (want('failover')) {
  const r = await failover();
  log(
    `failover: lease taken ${r.leaseTakenMs} ms and channel subscribed ${r.subscribedMs} ms after the leader's SIGKILL (member timeout ${r.memberTimeoutMs} ms)`,
  );
  results['failover'] = r;
}
writeResults('cluster', { ...results, finishedAt: new Date().toISOString() });
