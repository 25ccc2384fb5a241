/**
 * The outbox deliverer every channel runs on (CRM webhook, AMQP): lease due rows of one channel,
 * hand them to the channel's transport, and record each row's fate — delivered, or failed with
 * the one backoff until `maxAttempts`, then dead (kept in the ledger, never dropped). The
 * transports (src/adapters) only send.
 */
import type { Clock } from '../domain/types.js';
import type { OutboxRow, Store } from '../ledger/port.js';
import { backoffMs } from '../shared/backoff.js';

export type OutboxChannel = OutboxRow['channel'];

/** What an outbox channel's adapter provides. */
export interface OutboxTransport {
  channel: OutboxChannel;
  /**
   * Sends the leased rows (oldest first) and calls `record` once per row as soon as its fate is
   * known: `null` when the receiver took it, else the error to retry it for.
   */
  send(rows: OutboxRow[], record: (row: OutboxRow, error: string | null) => Promise<void>): Promise<void>;
}

export interface OutboxDelivererOptions {
  /** Rows leased per pass. */
  batchSize: number;
  /** How long a leased row stays invisible to other workers; longer than a send's timeout. */
  leaseMs: number;
  /** Delivery attempts before the row is marked dead. */
  maxAttempts: number;
  /** Backoff after the first failure; doubles per attempt, ±25 % jitter, up to backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  random?: () => number;
}

export interface OutboxPassResult {
  delivered: number;
  failed: number;
  dead: number;
}

export interface OutboxDeliverer {
  /** One pass: lease due rows, send them, record each outcome. */
  runOnce(): Promise<OutboxPassResult>;
}

export function createOutboxDeliverer(
  store: Store,
  clock: Clock,
  transport: OutboxTransport,
  o: OutboxDelivererOptions,
): OutboxDeliverer {
  const random = o.random ?? Math.random;

  async function fail(row: OutboxRow, error: string): Promise<'failed' | 'dead'> {
    // leaseOutbox counts the attempt as it leases the row: row.attempts is this attempt's number.
    const attempt = Math.max(1, row.attempts);
    if (attempt >= o.maxAttempts) {
      await store.markDead(row.id, clock.now(), `${error} (after ${attempt} attempts)`);
      return 'dead';
    }
    const delay = backoffMs(
      attempt,
      { baseDelayMs: o.backoffBaseMs, maxDelayMs: o.backoffMaxMs, jitter: 0.5 },
      random,
    );
    await store.markDeliveryFailed(row.id, clock.now() + delay, error);
    return 'failed';
  }

  return {
    async runOnce() {
      const result: OutboxPassResult = { delivered: 0, failed: 0, dead: 0 };
      const rows = await store.leaseOutbox(transport.channel, o.batchSize, o.leaseMs, clock.now());
      if (rows.length === 0) return result;
      rows.sort((a, b) => a.createdAt - b.createdAt);
      await transport.send(rows, async (row, error) => {
        if (error === null) {
          await store.markDelivered(row.id, clock.now());
          result.delivered++;
        } else {
          result[await fail(row, error)]++;
        }
      });
      return result;
    },
  };
}
