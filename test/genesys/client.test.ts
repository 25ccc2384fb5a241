import { afterEach, describe, expect, it } from 'vitest';
import { createGenesysClient, type GenesysClient } from '../../src/genesys/client.js';
import { PlatformError } from '../../src/genesys/port.js';
import { conversationFacts, mapConversation } from '../../src/genesys/state-map.js';
import {
  BILLING_QUEUE_ID,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  type Simulator,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../../src/simulator/index.js';
import { exampleSpec } from './example-spec.js';

let sim: Simulator | undefined;
let client: GenesysClient | undefined;
afterEach(async () => {
  await client?.close();
  await sim?.close();
  client = undefined;
  sim = undefined;
});

async function start(opts: Parameters<typeof startSimulator>[0] = {}) {
  sim = await startSimulator({ requestsPerMinute: 100_000, analyticsLagMs: 2_000, ...opts });
  const s = sim;
  client = createGenesysClient({
    baseUrl: s.url,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    clock: { now: () => s.clock.now() },
    requestsPerMinute: 100_000,
    requestTimeoutMs: 2_000,
  });
  return { sim: s, client };
}

function specFor(s: Simulator, callbackId: string) {
  return exampleSpec({
    callbackId,
    scheduledTime: new Date(s.clock.now() + 3_600_000).toISOString(),
    routingData: { queueId: SUPPORT_QUEUE_ID, priority: 1, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
  });
}

describe('Genesys client against the simulator', () => {
  it('create, get, reschedule and disconnect a callback', async () => {
    const { sim, client } = await start();
    const spec = specFor(sim, 'cb-client-1');
    const { conversationId } = await client.createCallback(spec, { tenantId: 'demo' });
    const conv = await client.getCallbackConversation(conversationId);
    expect(conv.id).toBe(conversationId);
    const customer = conv.participants.find((p) => p.purpose === 'customer');
    expect(customer?.callbackNumbers).toEqual(['+14155552671']);
    expect(customer?.attributes?.callbackId).toBe('cb-client-1');
    expect(customer?.queueId).toBe(SUPPORT_QUEUE_ID);
    expect(mapConversation(conv).status).toBe('pending');

    const later = new Date(sim.clock.now() + 7_200_000).toISOString();
    await client.rescheduleCallback(conversationId, { ...spec, scheduledTime: later });
    expect(sim.control.conversation(conversationId)?.callbackScheduledTime).toBe(later);

    await client.disconnectCallback(conversationId);
    const after = await client.getCallbackConversation(conversationId);
    // The callback GET holds the callback media only: it shows the end, not how it ended.
    expect(conversationFacts(after).ended).toBe(true);
    expect(mapConversation(after)).toMatchObject({ status: 'pending', complete: false });
  });

  it('queue, wrap-up codes, DIDs and observations', async () => {
    const { sim, client } = await start();
    expect(await client.getQueue(SUPPORT_QUEUE_ID)).toEqual({ id: SUPPORT_QUEUE_ID, name: 'Support' });
    expect(await client.getQueue('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    const codes = await client.listWrapupCodes(SUPPORT_QUEUE_ID);
    expect(codes.map((c) => c.name)).toContain('PROGRAMMATIC_CALLBACK');
    expect(await client.listDids()).toContain('+18005551234');

    await client.createCallback({
      ...specFor(sim, 'cb-due'),
      scheduledTime: new Date(sim.clock.now()).toISOString(),
    });
    sim.control.setAgentCount(SUPPORT_QUEUE_ID, 0);
    sim.clock.advanceMs(1_000);
    const obs = await client.queueObservations([SUPPORT_QUEUE_ID, BILLING_QUEUE_ID]);
    expect(obs).toEqual([
      { queueId: SUPPORT_QUEUE_ID, waiting: expect.any(Number), interacting: expect.any(Number) },
      { queueId: BILLING_QUEUE_ID, waiting: 0, interacting: 0 },
    ]);
    expect(obs[0]!.waiting + obs[0]!.interacting).toBeGreaterThanOrEqual(1);
  });

  it('a token revoked by the platform is replaced transparently (401 → refresh → resend)', async () => {
    const { sim, client } = await start();
    await client.getQueue(SUPPORT_QUEUE_ID);
    sim.control.revokeTokens();
    await expect(client.getQueue(SUPPORT_QUEUE_ID)).resolves.toMatchObject({ id: SUPPORT_QUEUE_ID });
    expect(sim.control.counters()['token']?.['200']).toBe(2);
    expect(client.stats().tokenRequests).toBe(2);
  });

  it('a token that expires mid-run (simulator clock) is refreshed before use', async () => {
    const { sim, client } = await start({ tokenLifetimeSeconds: 600 });
    await client.getQueue(SUPPORT_QUEUE_ID);
    sim.clock.advanceMs(590_000);
    await client.getQueue(SUPPORT_QUEUE_ID);
    // Refreshed ahead of expiry: no request was refused with 401.
    expect(sim.control.counters()['getQueue']?.['401']).toBeUndefined();
    expect(sim.control.counters()['token']?.['200']).toBe(2);
  });

  it('a wrong secret against the simulator: GENESYS_AUTH_FAILED, no API request sent', async () => {
    const { sim } = await start();
    const bad = createGenesysClient({ baseUrl: sim.url, clientId: DEMO_CLIENT_ID, clientSecret: 'nope' });
    try {
      await expect(bad.createCallback(specFor(sim, 'cb-x'))).rejects.toMatchObject({
        code: 'GENESYS_AUTH_FAILED',
      });
      expect(sim.control.requestCount('createCallback')).toBe(0);
      expect(sim.control.conversations()).toHaveLength(0);
    } finally {
      await bad.close();
    }
  });

  it('a request the platform refuses surfaces as a rejected PlatformError', async () => {
    const { sim, client } = await start();
    const err = await client
      .createCallback({ ...specFor(sim, 'cb-bad'), callbackNumber: 'not-a-number' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect((err as PlatformError).kind).toBe('rejected');
  });
});
