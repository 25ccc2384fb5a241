/**
 * Publishes `amqp` outbox rows to RabbitMQ: topic exchange `callbackd.events` (durable), routing
 * key `callback.<status>`, persistent JSON messages whose messageId is the outbox id (consumers
 * deduplicate on it). A row is marked delivered only after the broker confirms it (confirm
 * channel); otherwise it is retried with backoff and, after maxAttempts, marked dead.
 *
 * The connection is opened lazily and dropped on any error; the next pass reconnects.
 */
import amqp from 'amqplib';
import type { Clock } from '../domain/types.js';
import { createOutboxDeliverer, type OutboxTransport } from '../jobs/outbox.js';
import type { Store } from '../ledger/port.js';

export const EVENTS_EXCHANGE = 'callbackd.events';

export interface AmqpPublisherOptions {
  /** amqp://user:pass@host:5672/vhost — never logged. */
  url: string;
  exchange?: string;
  batchSize?: number;
  leaseMs?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Connection and confirm timeout. */
  timeoutMs?: number;
  random?: () => number;
}

export interface AmqpPublisher {
  runOnce(): Promise<{ published: number; failed: number; dead: number }>;
  close(): Promise<void>;
}

type Conn = Awaited<ReturnType<typeof amqp.connect>>;
type ConfirmChannel = Awaited<ReturnType<Conn['createConfirmChannel']>>;

export function createAmqpPublisher(
  store: Store,
  clock: Clock,
  options: AmqpPublisherOptions,
): AmqpPublisher {
  const exchange = options.exchange ?? EVENTS_EXCHANGE;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let conn: Conn | null = null;
  let channel: ConfirmChannel | null = null;

  async function open(): Promise<ConfirmChannel> {
    if (channel) return channel;
    const c = await withTimeout(amqp.connect(options.url, { timeout: timeoutMs }), timeoutMs, 'connect');
    // Errors surface through the failed publish; these listeners only stop them being unhandled.
    c.on('error', () => undefined);
    c.on('close', () => {
      conn = null;
      channel = null;
    });
    const ch = await c.createConfirmChannel();
    ch.on('error', () => undefined);
    ch.on('close', () => {
      channel = null;
    });
    await ch.assertExchange(exchange, 'topic', { durable: true });
    conn = c;
    channel = ch;
    return ch;
  }

  async function drop(): Promise<void> {
    const c = conn;
    conn = null;
    channel = null;
    await c?.close().catch(() => undefined);
  }

  const transport: OutboxTransport = {
    channel: 'amqp',
    async send(rows, record) {
      let error: string | null = null;
      try {
        const ch = await open();
        for (const row of rows) {
          ch.publish(
            exchange,
            row.eventType,
            Buffer.from(JSON.stringify({ eventId: row.id, data: row.payload })),
            {
              persistent: true,
              messageId: row.id,
              contentType: 'application/json',
              type: row.eventType,
              timestamp: Math.floor(row.createdAt / 1000),
            },
          );
        }
        // One wait for the whole batch: it rejects if the broker nacked any of them.
        await withTimeout(ch.waitForConfirms(), timeoutMs, 'publisher confirms');
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
        await drop();
      }
      for (const row of rows) await record(row, error);
    },
  };
  const deliverer = createOutboxDeliverer(store, clock, transport, {
    batchSize: options.batchSize ?? 100,
    leaseMs: options.leaseMs ?? 60_000,
    maxAttempts: options.maxAttempts ?? 12,
    backoffBaseMs: options.backoffBaseMs ?? 5_000,
    backoffMaxMs: options.backoffMaxMs ?? 3_600_000,
    ...(options.random ? { random: options.random } : {}),
  });

  return {
    async runOnce() {
      const r = await deliverer.runOnce();
      return { published: r.delivered, failed: r.failed, dead: r.dead };
    },
    close: drop,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`AMQP ${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
