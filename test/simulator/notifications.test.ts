import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BILLING_QUEUE_ID, SUPPORT_QUEUE_ID } from '../../src/simulator/index.js';
import { fetchToken, type Harness, type Json, startHarness, waitFor } from './helpers.js';

let h: Harness;
const sockets: WebSocket[] = [];
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await h.sim.close();
});

const CH = '/api/v2/notifications/channels';
const topic = (queueId: string) => `v2.routing.queues.${queueId}.conversations.callbacks`;

async function channel(): Promise<{ id: string; connectUri: string; expires: string }> {
  const r = await h.api('POST', CH);
  expect(r.status).toBe(200);
  return r.body;
}

async function connect(uri: string): Promise<{ ws: WebSocket; messages: Json[] }> {
  const ws = new WebSocket(uri);
  sockets.push(ws);
  const messages: Json[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, messages };
}

describe('notification channels', () => {
  it("pushes every state change of a subscribed queue's callbacks, and nothing of other queues", async () => {
    const ch = await channel();
    const sub = await h.api('POST', `${CH}/${ch.id}/subscriptions`, [{ id: topic(SUPPORT_QUEUE_ID) }]);
    expect(sub.body.entities).toEqual([{ id: topic(SUPPORT_QUEUE_ID), state: 'Permitted' }]);
    const { messages } = await connect(ch.connectUri);
    const id = await h.create();
    await h.create({ routingData: { queueId: BILLING_QUEUE_ID } });
    h.sim.clock.advanceMs(3600_000 + 200_000);
    const states = await waitFor(() => {
      const s = messages
        .filter((m) => m.topicName === topic(SUPPORT_QUEUE_ID) && m.eventBody.id === id)
        .map((m) => m.eventBody.participants.find((p: Json) => p.purpose === 'customer').state);
      return s.at(-1) === 'disconnected' ? s : undefined;
    });
    // The customer's callback media: scheduled (an event-only state), connected from the due time
    // through every call, disconnected when the agent's callback ends.
    expect(states[0]).toBe('scheduled');
    expect(states[1]).toBe('connected');
    expect(new Set(states.slice(1, -1))).toEqual(new Set(['connected']));
    expect(states.at(-1)).toBe('disconnected');
    const first = messages.find((m) => m.eventBody.id === id)!;
    expect(first.eventBody.participants[0]).toMatchObject({
      initialState: 'scheduled',
      attributes: { callbackId: 'cb-CRM-998271-20240615T160000Z' },
    });
    expect(messages.every((m) => m.topicName !== topic(BILLING_QUEUE_ID))).toBe(true);
  });

  it('sends a channel.metadata heartbeat every 30 s of simulator time and answers ping with pong', async () => {
    const ch = await channel();
    const { ws, messages } = await connect(ch.connectUri);
    h.sim.clock.advanceMs(29_000);
    h.sim.clock.advanceMs(31_000);
    await waitFor(() => messages.length >= 2);
    expect(messages.slice(0, 2)).toEqual([
      { topicName: 'channel.metadata', eventBody: { message: 'WebSocket Heartbeat' } },
      { topicName: 'channel.metadata', eventBody: { message: 'WebSocket Heartbeat' } },
    ]);
    ws.send(JSON.stringify({ message: 'ping' }));
    await waitFor(() => messages.find((m) => m.eventBody.message === 'pong'));
  });

  it('replaces, lists and removes subscriptions; refuses topics it does not offer', async () => {
    const ch = await channel();
    await h.api('POST', `${CH}/${ch.id}/subscriptions`, [{ id: topic(SUPPORT_QUEUE_ID) }]);
    await h.api('PUT', `${CH}/${ch.id}/subscriptions`, [{ id: topic(BILLING_QUEUE_ID) }]);
    const list = await h.api('GET', `${CH}/${ch.id}/subscriptions`);
    expect(list.body.entities.map((e: Json) => e.id)).toEqual([topic(BILLING_QUEUE_ID)]);
    const unknownQueue = await h.api('POST', `${CH}/${ch.id}/subscriptions`, [
      { id: topic('00000000-0000-0000-0000-000000000000') },
    ]);
    expect(unknownQueue.body.entities.find((e: Json) => e.state === 'Rejected')).toBeTruthy();
    const bad = await h.api('POST', `${CH}/${ch.id}/subscriptions`, [{ id: 'v2.users.x.presence' }]);
    expect(bad.status).toBe(400);
    expect((await h.api('POST', `${CH}/${ch.id}/subscriptions`, { id: 'x' })).status).toBe(400);
    expect((await h.api('DELETE', `${CH}/${ch.id}/subscriptions`)).status).toBe(200);
    expect((await h.api('GET', `${CH}/${ch.id}/subscriptions`)).body.entities).toEqual([]);
    expect((await h.api('GET', `${CH}/nope/subscriptions`)).status).toBe(404);
    expect((await h.api('HEAD', `${CH}/${ch.id}`)).status).toBe(200);
  });

  it('refuses a websocket to an unknown channel and keeps one connection per channel', async () => {
    const ch = await channel();
    await expect(connect(ch.connectUri.replace(/channels\/.*/, 'channels/unknown'))).rejects.toBeTruthy();
    const first = await connect(ch.connectUri);
    const closed = new Promise<number>((resolve) => first.ws.once('close', (code) => resolve(code)));
    await connect(ch.connectUri);
    expect(await closed).toBe(4000);
  });

  it('expires channels after 24 hours of simulator time', async () => {
    const ch = await channel();
    expect(Date.parse(ch.expires) - h.sim.clock.now()).toBe(24 * 3600_000);
    const { ws } = await connect(ch.connectUri);
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    h.sim.clock.advanceMs(24 * 3600_000 + 30_000);
    await closed;
    // The 24 h token has expired as well: log in again to ask.
    const token = await fetchToken(h.sim.url);
    expect(
      (await h.api('HEAD', `${CH}/${ch.id}`, undefined, { authorization: `Bearer ${token}` })).status,
    ).toBe(404);
  });

  it('keeps at most 20 channels per client, dropping the oldest unconnected one', async () => {
    const first = await channel();
    for (let i = 0; i < 20; i++) await channel();
    expect((await h.api('GET', CH)).body.entities).toHaveLength(20);
    expect((await h.api('HEAD', `${CH}/${first.id}`)).status).toBe(404);
  });

  it('a 21st channel is never refused: with every channel connected, the least recently used one goes, warned first', async () => {
    const chans = [];
    for (let i = 0; i < 20; i++) chans.push(await channel());
    const conns = [];
    for (const c of chans) {
      conns.push(await connect(c.connectUri));
      h.sim.clock.advanceMs(1000);
    }
    // Subscribing uses channel 0 again, so channel 1 is now the least recently used.
    await h.api('POST', `${CH}/${chans[0]!.id}/subscriptions`, [{ id: topic(SUPPORT_QUEUE_ID) }]);
    const victim = conns[1]!;
    const closed = new Promise<void>((resolve) => victim.ws.once('close', () => resolve()));
    const r = await h.api('POST', CH);
    expect(r.status).toBe(200);
    await closed;
    expect(victim.messages.at(-1)).toMatchObject({ topicName: 'v2.system.socket_closing' });
    expect((await h.api('HEAD', `${CH}/${chans[1]!.id}`)).status).toBe(404);
    expect((await h.api('HEAD', `${CH}/${chans[0]!.id}`)).status).toBe(200);
    expect((await h.api('GET', CH)).body.entities).toHaveLength(20);
  });

  it('fails a subscribe that names a forbidden topic, unless ?ignoreErrors=true', async () => {
    h.sim.control.setForbiddenTopics([topic(BILLING_QUEUE_ID)]);
    const ch = await channel();
    const both = [{ id: topic(SUPPORT_QUEUE_ID) }, { id: topic(BILLING_QUEUE_ID) }];
    const refused = await h.api('POST', `${CH}/${ch.id}/subscriptions`, both);
    expect(refused.status).toBe(403);
    expect((await h.api('GET', `${CH}/${ch.id}/subscriptions`)).body.entities).toEqual([]);
    const ignored = await h.api('POST', `${CH}/${ch.id}/subscriptions?ignoreErrors=true`, both);
    expect(ignored.status).toBe(200);
    expect(ignored.body.entities).toEqual([
      { id: topic(SUPPORT_QUEUE_ID), state: 'Permitted' },
      {
        id: topic(BILLING_QUEUE_ID),
        state: 'Rejected',
        rejectionReason: 'Missing permission for this topic.',
      },
    ]);
    // Over HTTP too, with a prefix.
    const ctl = await h.raw(
      'POST',
      '/sim/notifications',
      JSON.stringify({ forbiddenTopics: ['v2.routing.*'] }),
      {},
    );
    expect(ctl.body.forbiddenTopics).toEqual(['v2.routing.*']);
    expect(
      (await h.api('PUT', `${CH}/${ch.id}/subscriptions`, [{ id: topic(SUPPORT_QUEUE_ID) }])).status,
    ).toBe(403);
  });

  it('with notifications turned off, channels stay up and heartbeat but deliver no event', async () => {
    const ch = await channel();
    await h.api('POST', `${CH}/${ch.id}/subscriptions`, [{ id: topic(SUPPORT_QUEUE_ID) }]);
    const { messages } = await connect(ch.connectUri);
    const off = await h.raw('POST', '/sim/notifications', JSON.stringify({ enabled: false }), {});
    expect(off.body.enabled).toBe(false);
    await h.create();
    h.sim.clock.advanceMs(30_000);
    await waitFor(() => messages.some((m) => m.topicName === 'channel.metadata'));
    expect(messages.filter((m) => m.topicName === topic(SUPPORT_QUEUE_ID))).toEqual([]);
    h.sim.control.setNotificationsEnabled(true);
    await h.create();
    await waitFor(() => messages.some((m) => m.topicName === topic(SUPPORT_QUEUE_ID)));
  });

  it('closes sockets on demand with v2.system.socket_closing first; the channel survives', async () => {
    const ch = await channel();
    const { ws, messages } = await connect(ch.connectUri);
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const r = await h.raw('POST', '/sim/notifications', JSON.stringify({ closeSockets: true }), {});
    expect(r.body.socketsClosed).toBe(1);
    await closed;
    expect(messages.map((m) => m.topicName)).toEqual(['v2.system.socket_closing']);
    expect((await h.api('HEAD', `${CH}/${ch.id}`)).status).toBe(200);
    await connect(ch.connectUri);
  });
});
