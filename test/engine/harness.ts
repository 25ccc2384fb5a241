/**
 * The engine against the real pieces: the Genesys simulator (manual clock), the real Genesys
 * client over HTTP, a real SQLite ledger, the submitter and the tracker. Simulated time moves
 * only when a test steps it; each step runs the workers once, so tests never sleep.
 */
import { CallbackdConfigSchema, defaultConfigInput } from '../../src/config/index.js';
import type { QueuePolicy } from '../../src/domain/policy.js';
import type { CallbackSpec } from '../../src/domain/types.js';
import { createGenesysClient, type GenesysClient } from '../../src/genesys/client.js';
import { type CapacityGate, createCapacityGate } from '../../src/jobs/capacity.js';
import { createSubmitter, type Submitter } from '../../src/jobs/submit.js';
import { createTracker, type Tracker, type TrackerOptions } from '../../src/jobs/tracker.js';
import type { CallbackWithHistory, Store } from '../../src/ledger/port.js';
import {
  BILLING_QUEUE_ID,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  demoOrg,
  type SimOrgDef,
  type Simulator,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../../src/simulator/index.js';
import { acceptSpec, makeSpec, openTempStore, type TempStore } from './support.js';

export { BILLING_QUEUE_ID, SUPPORT_QUEUE_ID };

/** A Tuesday, 13:00 in New York and 10:00 in California: queues open, customers in their calling window. */
export const START_MS = Date.UTC(2030, 0, 15, 18, 0, 0);
export const MINUTE = 60_000;

const config = CallbackdConfigSchema.parse(defaultConfigInput());
export const policies = (queueId: string): QueuePolicy | undefined => config.queues[queueId];

export interface EngineHarness {
  sim: Simulator;
  store: Store;
  genesys: GenesysClient;
  capacity: CapacityGate;
  submitter: Submitter;
  tracker: Tracker;
  now(): number;
  /** Accepts a callback in the ledger (as the API would), scheduled `inMs` from now by default. */
  accept(overrides?: Partial<CallbackSpec> & { inMs?: number }): Promise<CallbackWithHistory>;
  /** One round: submitter and tracker each run once at the current simulated time. */
  round(): Promise<void>;
  /** Moves simulated time by stepMs and runs a round, until `done` holds or maxMs have passed. */
  runUntil(done: () => Promise<boolean> | boolean, opts?: { stepMs?: number; maxMs?: number }): Promise<void>;
  /** Runs rounds across `ms` of simulated time. */
  runFor(ms: number, stepMs?: number): Promise<void>;
  get(callbackId: string): Promise<CallbackWithHistory>;
  close(): Promise<void>;
}

let seq = 0;

/**
 * The demo org with the wrap-up code an org's Architect flow sets when it refuses a callback for
 * capacity (QUEUE_FULL, mapped in the demo config's wrapUpOutcomes): capacity refusal is the
 * flow's outcome, seen only as its disconnect and wrap-up (GENESYS.md).
 */
export function orgWithFlowWrapUps(): SimOrgDef {
  const org = demoOrg();
  for (const [i, q] of org.queues.entries()) {
    if (!q.wrapupCodes.some((w) => w.name === 'QUEUE_FULL'))
      q.wrapupCodes.push({ id: `f1000000-0000-4000-8000-00000000000${i}`, name: 'QUEUE_FULL' });
    q.flow.capacity = { ...q.flow.capacity, wrapUpCode: 'QUEUE_FULL' };
  }
  return org;
}

export async function startEngineHarness(
  opts: {
    tracker?: Partial<TrackerOptions>;
    analyticsLagMs?: number;
    /** Instead of the demo config's queue policies. */
    policies?: (queueId: string) => QueuePolicy | undefined;
  } = {},
): Promise<EngineHarness> {
  const queuePolicies = opts.policies ?? policies;
  const sim = await startSimulator({
    startTime: START_MS,
    analyticsLagMs: opts.analyticsLagMs ?? 0,
    requestsPerMinute: 100_000,
    org: orgWithFlowWrapUps(),
  });
  const ledger: TempStore = await openTempStore();
  const { store } = ledger;
  const clock = sim.clock;
  // The client's own limiter and token cache run on wall time; the engine runs on simulated time.
  const genesys = createGenesysClient({
    baseUrl: sim.url,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    requestsPerMinute: 100_000,
    maxRetries: 1,
    baseDelayMs: 1,
    maxDelayMs: 5,
  });
  const capacity = createCapacityGate({ genesys, clock, policies: queuePolicies, random: () => 0.5 });
  const submitter = createSubmitter({
    store,
    genesys,
    clock,
    workerId: `test-submitter-${++seq}`,
    capacity,
    policies: queuePolicies,
    random: () => 0.5,
  });
  const tracker = createTracker({
    store,
    genesys,
    clock,
    policies: queuePolicies,
    random: () => 0.5,
    ...opts.tracker,
  });

  const h: EngineHarness = {
    sim,
    store,
    genesys,
    capacity,
    submitter,
    tracker,
    now: () => clock.now(),
    async accept(overrides = {}) {
      const { inMs, ...rest } = overrides;
      const spec = makeSpec({
        callbackId: `cb-${++seq}`,
        scheduledMs: clock.now() + (inMs ?? 10 * MINUTE),
        ...rest,
      });
      return acceptSpec(store, spec, clock.now());
    },
    async round() {
      await submitter.runOnce();
      await tracker.runOnce();
    },
    async runUntil(done, { stepMs = 1_000, maxMs = 60 * MINUTE } = {}) {
      const end = clock.now() + maxMs;
      await h.round();
      while (!(await done())) {
        if (clock.now() >= end) throw new Error(`condition not met within ${maxMs} ms of simulated time`);
        clock.advanceMs(stepMs);
        await h.round();
      }
    },
    async runFor(ms, stepMs = 1_000) {
      const end = clock.now() + ms;
      await h.round();
      while (clock.now() < end) {
        clock.advanceMs(Math.min(stepMs, end - clock.now()));
        await h.round();
      }
    },
    async get(callbackId) {
      const cb = await store.get('demo', callbackId);
      if (!cb) throw new Error(`no callback ${callbackId}`);
      return cb;
    },
    async close() {
      await genesys.close();
      await sim.close();
      await ledger.cleanup();
    },
  };
  return h;
}

/** A callback's status in the ledger, for runUntil predicates. */
export function statusIs(h: EngineHarness, callbackId: string, ...statuses: string[]) {
  return async () => statuses.includes((await h.get(callbackId)).status);
}
