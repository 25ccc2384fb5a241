import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAmqpPublisher, EVENTS_EXCHANGE } from '../../src/adapters/amqp.js';
import { transitionOf } from '../../src/ledger/events.js';
import { waitFor } from '../support/wait.js';
import {
  acceptSpec,
  type ManualClock,
  makeSpec,
  manualClock,
  openTempStore,
  type TempStore,
} from './support.js';

const AMQP_URL = process.env.CALLBACKD_TEST_AMQP_URL;
const T0 = Date.UTC(2030, 0, 15, 12);

describe.skipIf(!AMQP_URL)('RabbitMQ event publishing (CALLBACKD_TEST_AMQP_URL)', () => {
  let ledger: TempStore;
  let clock: ManualClock;

  beforeEach(async () => {
    ledger = await openTempStore();
    clock = manualClock(T0);
  });
  afterEach(async () => {
    await ledger.cleanup();
  });

  it('publishes each amqp outbox row to callbackd.events as callback.<status>, confirmed, once', async () => {
    const conn = await amqp.connect(AMQP_URL!);
    const ch = await conn.createChannel();
    await ch.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, EVENTS_EXCHANGE, 'callback.*');
    const got: {
      routingKey: string;
      messageId: string;
      body: { eventId: string; data: { callbackId: string } };
    }[] = [];
    const tag = `engine-test-${process.pid}-${Date.now()}`;
    await ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const body = JSON.parse(msg.content.toString('utf8'));
        // Other runs may publish to the shared exchange: keep only this test's callbacks.
        if (String(body.data?.callbackId).startsWith(tag)) {
          got.push({ routingKey: msg.fields.routingKey, messageId: String(msg.properties.messageId), body });
        }
        ch.ack(msg);
      },
      { noAck: false },
    );

    const { store } = ledger;
    const cb = await acceptSpec(store, makeSpec({ callbackId: `${tag}-a` }), clock.now(), {
      channels: ['webhook', 'amqp'],
    });
    await store.transition(
      transitionOf(cb, { to: 'pending', reason: null, at: clock.now(), set: { conversationId: 'conv-a' } }, [
        'webhook',
        'amqp',
      ]),
    );

    const publisher = createAmqpPublisher(store, clock, { url: AMQP_URL! });
    try {
      expect(await publisher.runOnce()).toEqual({ published: 2, failed: 0, dead: 0 });
      // Marked delivered: a second pass publishes nothing.
      expect(await publisher.runOnce()).toEqual({ published: 0, failed: 0, dead: 0 });
      await waitFor('two events from RabbitMQ', () => got.length >= 2);
      expect(got.map((g) => g.routingKey)).toEqual(['callback.accepted', 'callback.pending']);
      for (const g of got) expect(g.body.eventId).toBe(g.messageId);
      // The webhook rows were left to the webhook worker.
      const webhookRows = await store.leaseOutbox('webhook', 10, 1_000, clock.now());
      expect(webhookRows).toHaveLength(2);
    } finally {
      await publisher.close();
      await conn.close();
    }
  });

  it('keeps rows for a later retry when the broker cannot be reached', async () => {
    const { store } = ledger;
    await acceptSpec(store, makeSpec({ callbackId: 'cb-unreachable' }), clock.now(), { channels: ['amqp'] });
    // Port 1 on loopback: connection refused at once.
    const publisher = createAmqpPublisher(store, clock, {
      url: 'amqp://guest:guest@127.0.0.1:1',
      timeoutMs: 2_000,
    });
    expect(await publisher.runOnce()).toEqual({ published: 0, failed: 1, dead: 0 });
    await publisher.close();
    clock.advance(3_600_000);
    const again = await store.leaseOutbox('amqp', 10, 1_000, clock.now());
    expect(again.map((r) => r.lastError)).toEqual([expect.stringMatching(/ECONNREFUSED|connect/i)]);
  });
});
