import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  complete,
  createJobLoop,
  giveUp,
  JobRuntime,
  retryAt,
  type TaskDefinition,
} from '../../src/jobs/runtime.js';
import type { Job } from '../../src/ledger/port.js';
import type { KyselyStore } from '../../src/ledger/store.js';
import { acceptSpec, makeSpec, manualClock, openTempStore, type TempStore } from '../engine/support.js';
import { waitFor } from '../support/wait.js';

const T0 = Date.UTC(2030, 0, 15, 12);

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** A task whose handler holds each job until `release` is opened, recording what it was given. */
function holdingTask(kind: Job['kind'], release: Promise<void>, seen: Job[]): TaskDefinition {
  return {
    kind,
    async handle(job) {
      seen.push(job);
      await release;
      return complete();
    },
    batchSize: 10,
    concurrency: 10,
    leaseMs: 60_000,
    idleDelayMs: 5,
  };
}

describe('the job runtime', () => {
  let ledger: TempStore;
  const clock = manualClock(T0);

  beforeEach(async () => {
    ledger = await openTempStore();
  });
  afterEach(async () => {
    await ledger.cleanup();
  });

  async function jobRows() {
    return (ledger.store as KyselyStore).kysely
      .selectFrom('jobs')
      .select(['id', 'kind', 'locked_by'])
      .orderBy('id')
      .execute();
  }

  it('stopping one loop never releases the leases another loop holds on the same ledger', async () => {
    const cb = await acceptSpec(ledger.store, makeSpec({ callbackId: 'cb-1' }), clock.now()); // a submit job
    await ledger.store.enqueueJob({ kind: 'cancel', callbackPk: cb.pk, runAt: clock.now() });
    const deps = { store: ledger.store, clock, workerId: 'w1' };
    const submitRelease = gate();
    const cancelRelease = gate();
    const submitSeen: Job[] = [];
    const cancelSeen: Job[] = [];
    const submitLoop = createJobLoop(deps, holdingTask('submit', submitRelease.opened, submitSeen));
    const cancelLoop = createJobLoop(deps, holdingTask('cancel', cancelRelease.opened, cancelSeen));
    submitLoop.start();
    cancelLoop.start();
    await waitFor('both loops to hold their job', () => submitSeen.length === 1 && cancelSeen.length === 1);

    // The submit loop finishes its job in hand and stops; the cancel loop is mid-job.
    submitRelease.open();
    await submitLoop.stop();
    const rows = await jobRows();
    expect(rows).toEqual([{ id: cancelSeen[0]!.id, kind: 'cancel', locked_by: 'w1/cancel' }]);

    // Still its own: the cancel loop completes the job (completeJob is guarded on the lease holder).
    cancelRelease.open();
    await waitFor('the cancel job to be completed', async () => (await jobRows()).length === 0);
    await cancelLoop.stop();
  });

  it('a stopping loop leaves the jobs it had not started leased to itself, then releases only those', async () => {
    for (let i = 0; i < 3; i++) {
      await acceptSpec(ledger.store, makeSpec({ callbackId: `cb-${i}` }), clock.now());
    }
    const other = await acceptSpec(ledger.store, makeSpec({ callbackId: 'cb-other' }), clock.now());
    await ledger.store.enqueueJob({ kind: 'reschedule', callbackPk: other.pk, runAt: clock.now() });
    const release = gate();
    const seen: Job[] = [];
    const otherSeen: Job[] = [];
    const otherRelease = gate();
    // One job at a time: the other two stay leased but unstarted when stop() is called.
    const submitLoop = createJobLoop(
      { store: ledger.store, clock, workerId: 'w1' },
      { ...holdingTask('submit', release.opened, seen), concurrency: 1 },
    );
    const rescheduleLoop = createJobLoop(
      { store: ledger.store, clock, workerId: 'w1' },
      holdingTask('reschedule', otherRelease.opened, otherSeen),
    );
    rescheduleLoop.start();
    await waitFor('the reschedule loop to hold its job', () => otherSeen.length === 1);
    submitLoop.start();
    await waitFor('the submit loop to start its first job', () => seen.length === 1);
    const stopped = submitLoop.stop();
    release.open();
    await stopped;
    expect(seen).toHaveLength(1);
    const rows = await jobRows();
    // Four submit jobs (cb-other's too): the one handled is gone, the three unstarted are free again.
    expect(rows.filter((r) => r.kind === 'submit').map((r) => r.locked_by)).toEqual([null, null, null]);
    expect(rows.find((r) => r.kind === 'reschedule')?.locked_by).toBe('w1/reschedule');
    otherRelease.open();
    await rescheduleLoop.stop();
  });

  it('applies each handler result: complete deletes, retryAt reschedules with the error, giveUp drops', async () => {
    const a = await acceptSpec(ledger.store, makeSpec({ callbackId: 'cb-a' }), clock.now());
    const b = await acceptSpec(ledger.store, makeSpec({ callbackId: 'cb-b' }), clock.now());
    const c = await acceptSpec(ledger.store, makeSpec({ callbackId: 'cb-c' }), clock.now());
    const d = await acceptSpec(ledger.store, makeSpec({ callbackId: 'cb-d' }), clock.now());
    const loop = createJobLoop(
      { store: ledger.store, clock, workerId: 'w1' },
      {
        kind: 'submit',
        async handle(job) {
          if (job.callbackPk === a.pk) return complete('done');
          if (job.callbackPk === b.pk) return retryAt(clock.now() + 60_000, 'not yet', 'later');
          if (job.callbackPk === c.pk) return giveUp('hopeless');
          throw new Error('boom');
        },
        onError: (err) => retryAt(clock.now() + 5_000, err),
        batchSize: 10,
        concurrency: 2,
        leaseMs: 60_000,
        idleDelayMs: 1_000,
      },
    );
    expect(await loop.runOnce()).toEqual({ jobs: 4, outcomes: { done: 1, later: 1, giveUp: 1, error: 1 } });
    const rows = await (ledger.store as KyselyStore).kysely
      .selectFrom('jobs')
      .select(['callback_pk', 'run_at', 'last_error', 'locked_by'])
      .orderBy('callback_pk')
      .execute();
    expect(rows).toEqual([
      { callback_pk: b.pk, run_at: T0 + 60_000, last_error: 'not yet', locked_by: null },
      { callback_pk: d.pk, run_at: T0 + 5_000, last_error: 'boom', locked_by: null },
    ]);
    // Nothing is due until the clock reaches the retries.
    expect((await loop.runOnce()).jobs).toBe(0);
  });

  it('refuses a job kind registered twice', () => {
    const runtime = new JobRuntime({ store: ledger.store, clock, workerId: 'w1' });
    const task = holdingTask('submit', Promise.resolve(), []);
    runtime.register(task);
    expect(() => runtime.register(task)).toThrow(/registered twice/);
  });
});
