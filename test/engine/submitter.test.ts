import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { createGenesysClient } from '../../src/genesys/client.js';
import { ATTR } from '../../src/genesys/mapping.js';
import { type GenesysPort, PlatformError } from '../../src/genesys/port.js';
import { BILLING_QUEUE_ID, DEMO_CLIENT_ID } from '../../src/simulator/index.js';
import {
  driveUntil,
  type Harness,
  noneAccepted,
  platformCounts,
  simSpec,
  startHarness,
  TEST_TIMING,
} from './fixtures/sim-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('submitter against the simulator and a SQLite ledger', () => {
  it('creates one platform callback per accepted callback and records it as pending', async () => {
    h = await startHarness();
    const spec = simSpec(h.sim, 'cb-basic-1', {
      dtmf: '7',
      routingData: { queueId: BILLING_QUEUE_ID, priority: 3, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
    });
    const accepted = await h.accept(spec, 'tenant-a');
    const submitter = h.submitter();
    const result = await submitter.runOnce();
    expect(result.outcomes).toEqual({ created: 1 });

    const row = (await h.store.getByPk(accepted.pk))!;
    expect(row.status).toBe('pending');
    expect(row.submitInFlightAt).toBeNull();
    expect(row.attempts).toBe(1);
    expect(row.history.map((e) => e.status)).toEqual(['accepted', 'pending']);

    const [conv, ...more] = h.sim.control.conversations({ callbackId: 'cb-basic-1' });
    expect(more).toHaveLength(0);
    expect(conv?.id).toBe(row.conversationId);
    expect(conv?.queueId).toBe(BILLING_QUEUE_ID);
    expect(conv?.callerId).toBe('+18005551234');
    expect(conv?.data).toMatchObject({
      [ATTR.callbackId]: 'cb-basic-1',
      [ATTR.tenantId]: 'tenant-a',
      [ATTR.dtmf]: '7',
      [ATTR.timeoutSeconds]: '300',
      [ATTR.callbackTo]: '+18005551234',
      [ATTR.externalId]: 'CRM-998271',
      [ATTR.wrapUpCode]: 'PROGRAMMATIC_CALLBACK',
    });

    // The change is announced through the outbox in the same transaction.
    const outbox = await h.store.leaseOutbox('webhook', 10, 1_000, h.clock.now());
    expect(outbox.map((r) => r.eventType)).toEqual(['callback.accepted', 'callback.pending']);
    expect(outbox[1]?.payload).toMatchObject({
      callbackId: 'cb-basic-1',
      tenantId: 'tenant-a',
      status: 'pending',
      conversationId: row.conversationId,
    });
    // The job is done: another pass finds nothing.
    expect((await submitter.runOnce()).jobs).toBe(0);
  });

  it('records a final platform refusal as rejected with its reason code, sending once', async () => {
    h = await startHarness();
    const spec = simSpec(h.sim, 'cb-bad-queue', {
      routingData: { queueId: '00000000-0000-0000-0000-000000000000', priority: 0 },
    });
    const accepted = await h.accept(spec);
    const result = await h.submitter().runOnce();
    expect(result.outcomes).toEqual({ rejected: 1 });
    const row = (await h.store.getByPk(accepted.pk))!;
    expect(row.status).toBe('rejected');
    expect(row.statusReason?.code).toBe('PLATFORM_BAD_REQUEST');
    expect(row.submitInFlightAt).toBeNull();
    expect(h.sim.control.requestCount('createCallback')).toBe(1);
  });

  it('a create committed without an answer is found by callbackId after the analytics lag and adopted, never re-sent', async () => {
    h = await startHarness({ analyticsLagMs: 10_000 });
    h.sim.control.addFault({ endpoint: 'createCallback', kind: 'commitNoAnswer', times: 1 });
    const accepted = await h.accept(simSpec(h.sim, 'cb-commit-1'));
    const submitter = h.submitter();
    expect((await submitter.runOnce()).outcomes).toEqual({ unclear: 1 });
    const marked = (await h.store.getByPk(accepted.pk))!;
    expect(marked.status).toBe('accepted');
    expect(marked.submitInFlightAt).not.toBeNull();

    await driveUntil(
      h,
      [submitter],
      async () => (await h!.store.getByPk(accepted.pk))!.status !== 'accepted',
    );
    const row = (await h.store.getByPk(accepted.pk))!;
    expect(row.status).toBe('pending');
    const convs = h.sim.control.conversations({ callbackId: 'cb-commit-1' });
    expect(convs).toHaveLength(1);
    expect(row.conversationId).toBe(convs[0]?.id);
    expect(h.sim.control.requestCount('createCallback')).toBe(1);
  });

  it('sends again only after the send window and the analytics lag have passed without a trace', async () => {
    h = await startHarness();
    // 502 without touching state: the platform made nothing, but the client cannot know that.
    h.sim.control.addFault({ endpoint: 'createCallback', kind: 'error', status: 502, times: 1 });
    const accepted = await h.accept(simSpec(h.sim, 'cb-502'));
    const submitter = h.submitter();
    const t0 = h.clock.now();
    expect((await submitter.runOnce()).outcomes).toEqual({ unclear: 1 });
    const inFlightAt = (await h.store.getByPk(accepted.pk))!.submitInFlightAt!;

    let resentAt: number | undefined;
    await driveUntil(h, [submitter], async () => {
      if (resentAt === undefined && h!.sim.control.requestCount('createCallback') > 1)
        resentAt = h!.clock.now();
      return (await h!.store.getByPk(accepted.pk))!.status !== 'accepted';
    });
    expect(resentAt).toBeDefined();
    expect(resentAt!).toBeGreaterThanOrEqual(
      inFlightAt + TEST_TIMING.sendWindowMs + TEST_TIMING.analyticsLagMs,
    );
    expect(inFlightAt).toBeGreaterThanOrEqual(t0);
    expect(h.sim.control.conversations({ callbackId: 'cb-502' })).toHaveLength(1);
    expect((await h.store.getByPk(accepted.pk))!.status).toBe('pending');
  });

  it('the one limit: if neither the search nor analytics ever shows a created callback, an unclear create is sent again', async () => {
    // Lags far beyond the look-up's windows behave like a platform that lost the record.
    h = await startHarness({ analyticsLagMs: 3_600_000 });
    h.sim.control.setSearchLagMs(3_600_000);
    h.sim.control.addFault({ endpoint: 'createCallback', kind: 'commitNoAnswer', times: 1 });
    const accepted = await h.accept(simSpec(h.sim, 'cb-lost-analytics'));
    await driveUntil(
      h,
      [h.submitter()],
      async () => (await h!.store.getByPk(accepted.pk))!.status !== 'accepted',
    );
    expect(platformCounts(h.sim, ['cb-lost-analytics'])).toEqual({ 'cb-lost-analytics': 2 });
  });

  it('an unclear create the attribute search shows is adopted although analytics lags for an hour', async () => {
    h = await startHarness({ analyticsLagMs: 3_600_000 });
    h.sim.control.addFault({ endpoint: 'createCallback', kind: 'commitNoAnswer', times: 1 });
    const accepted = await h.accept(simSpec(h.sim, 'cb-found-by-search'));
    await driveUntil(
      h,
      [h.submitter()],
      async () => (await h!.store.getByPk(accepted.pk))!.status !== 'accepted',
    );
    expect(platformCounts(h.sim, ['cb-found-by-search'])).toEqual({ 'cb-found-by-search': 1 });
    const rec = (await h.store.getByPk(accepted.pk))!;
    expect(rec.status).toBe('pending');
    expect(rec.statusReason).toMatchObject({ code: 'LOOKUP_ADOPTED' });
    expect(rec.statusReason?.message).toMatch(/by search/);
  });

  it('a callback cancelled while its create was in flight gets its new platform callback disconnected', async () => {
    h = await startHarness();
    const accepted = await h.accept(simSpec(h.sim, 'cb-cancel-race'));
    const harness = h;
    const racing: GenesysPort = {
      ...harness.client,
      async createCallback(spec, opts) {
        const created = await harness.client.createCallback(spec, opts);
        const rec = (await harness.store.getByPk(accepted.pk))!;
        await harness.store.transition({
          pk: rec.pk,
          from: ['accepted'],
          to: 'cancelled',
          reason: { code: ERROR_CODES.CANCELLED_BY_USER, message: 'cancelled through the API' },
          at: harness.clock.now(),
          outbox: [],
        });
        return created;
      },
    };
    await h.submitter({ genesys: racing }).runOnce();
    const [conv] = h.sim.control.conversations({ callbackId: 'cb-cancel-race' });
    expect(conv?.endReason).toBe('disconnectedByApi');
    expect((await h.store.getByPk(accepted.pk))!.status).toBe('cancelled');
  });

  it('stop() finishes the job in hand, releases its leases, and a restarted worker picks up the rest', async () => {
    h = await startHarness();
    for (let i = 0; i < 6; i++) await h.accept(simSpec(h.sim, `cb-stop-${i}`));
    const harness = h;
    let first: ReturnType<Harness['submitter']> | undefined;
    let creates = 0;
    const stopping: GenesysPort = {
      ...harness.client,
      async createCallback(spec, opts) {
        const created = await harness.client.createCallback(spec, opts);
        // Ask to stop in the middle of a batch: this job must still be recorded.
        if (++creates === 2) void first?.stop();
        return created;
      },
    };
    first = h.submitter({ genesys: stopping, concurrency: 1, batchSize: 6 });
    first.start();
    await expect.poll(() => creates).toBe(2);
    await first.stop();
    expect((await h.callbacks()).filter((r) => r.status === 'pending')).toHaveLength(2);
    // Leases were released: a new worker gets the remaining jobs now, without waiting for expiry.
    const second = h.submitter();
    expect((await second.runOnce()).outcomes).toEqual({ created: 4 });
    expect(await noneAccepted(h)).toBe(true);
    const ids = Array.from({ length: 6 }, (_, i) => `cb-stop-${i}`);
    expect(Object.values(platformCounts(h.sim, ids))).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('a 429 the client did not wait out reschedules the job no earlier than Retry-After, clearing the mark', async () => {
    h = await startHarness();
    const harness = h;
    const accepted = await h.accept(simSpec(h.sim, 'cb-retry-after'));
    let refusals = 0;
    const limited: GenesysPort = {
      ...harness.client,
      async createCallback(spec, opts) {
        if (refusals++ === 0) {
          throw new PlatformError(
            'retryable',
            { code: 'PLATFORM_RATE_LIMITED', message: 'slow down' },
            429,
            30_000,
          );
        }
        return harness.client.createCallback(spec, opts);
      },
    };
    const submitter = h.submitter({ genesys: limited, retryBaseDelayMs: 1, retryMaxDelayMs: 1 });
    expect((await submitter.runOnce()).outcomes).toEqual({ retry: 1 });
    const row = (await h.store.getByPk(accepted.pk))!;
    expect(row.status).toBe('accepted');
    expect(row.submitInFlightAt).toBeNull();
    h.sim.clock.advanceMs(29_999);
    expect((await submitter.runOnce()).jobs).toBe(0);
    h.sim.clock.advanceMs(1);
    expect((await submitter.runOnce()).outcomes).toEqual({ created: 1 });
    expect(platformCounts(h.sim, ['cb-retry-after'])).toEqual({ 'cb-retry-after': 1 });
  });

  it('refused credentials: nothing is sent, the mark is cleared, the job waits and the reason is logged', async () => {
    h = await startHarness();
    const accepted = await h.accept(simSpec(h.sim, 'cb-bad-secret'));
    const bad = createGenesysClient({ baseUrl: h.sim.url, clientId: DEMO_CLIENT_ID, clientSecret: 'wrong' });
    const errors: string[] = [];
    const logger = { info() {}, warn() {}, error: (_o: object, msg: string) => void errors.push(msg) };
    try {
      expect((await h.submitter({ genesys: bad, logger }).runOnce()).outcomes).toEqual({ retry: 1 });
    } finally {
      await bad.close();
    }
    expect(h.sim.control.requestCount('createCallback')).toBe(0);
    const row = (await h.store.getByPk(accepted.pk))!;
    expect(row).toMatchObject({ status: 'accepted', submitInFlightAt: null });
    expect(errors.join('\n')).toMatch(/GENESYS_AUTH_FAILED.*GENESYS_CLIENT_SECRET/);
    expect(errors.join('\n')).not.toContain('wrong');
  });

  it('refuses a send window that does not end before the lease', async () => {
    h = await startHarness();
    expect(() => h!.submitter({ leaseMs: 5_000, sendWindowMs: 5_000 })).toThrow(/sendWindowMs/);
  });
});
