import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookDelivery, EVENT_ID_HEADER, verifySignature } from '../../src/adapters/crm-webhook.js';
import { transitionOf } from '../../src/ledger/events.js';
import {
  acceptSpec,
  type ManualClock,
  makeSpec,
  manualClock,
  openTempStore,
  type TempStore,
} from './support.js';

const SECRET = 'whsec_engine_test';
const T0 = Date.UTC(2030, 0, 15, 12);

interface Received {
  eventId: string;
  body: {
    eventId: string;
    eventType: string;
    crmStatus: string;
    data: { callbackId: string; status: string };
  };
}

/** How the receiver answers the next request. */
type Behaviour = 'ok' | 'fail' | 'process-then-drop' | 'hang';

/** A CRM receiver that verifies signatures and deduplicates by event id, with scripted failures. */
function crmReceiver(clock: ManualClock) {
  const raw: Received[] = [];
  const unique = new Map<string, Received>();
  let badSignatures = 0;
  let behaviour: () => Behaviour = () => 'ok';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!verifySignature(body, req.headers['callbackd-signature'] as string, SECRET, 300, clock.now())) {
        badSignatures++;
        res.statusCode = 400;
        res.end();
        return;
      }
      const entry = {
        eventId: req.headers[EVENT_ID_HEADER.toLowerCase()] as string,
        body: JSON.parse(body.toString('utf8')) as Received['body'],
      };
      raw.push(entry);
      const b = behaviour();
      if (b === 'hang') return;
      if (b === 'fail') {
        res.statusCode = 503;
        res.end();
        return;
      }
      // Processed (deduplicated by event id) before answering.
      if (!unique.has(entry.eventId)) unique.set(entry.eventId, entry);
      if (b === 'process-then-drop') {
        res.socket?.destroy();
        return;
      }
      res.statusCode = 204;
      res.end();
    });
  });
  return {
    raw,
    unique,
    get badSignatures() {
      return badSignatures;
    },
    answer(next: () => Behaviour) {
      behaviour = next;
    },
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/crm/callbacks`;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('CRM webhook delivery', () => {
  let ledger: TempStore;
  let clock: ManualClock;
  let crm: ReturnType<typeof crmReceiver>;
  let url: string;

  beforeEach(async () => {
    ledger = await openTempStore();
    clock = manualClock(T0);
    crm = crmReceiver(clock);
    url = await crm.listen();
  });
  afterEach(async () => {
    await crm.close();
    await ledger.cleanup();
  });

  async function makeEvents(): Promise<number> {
    const { store } = ledger;
    let rows = 0;
    for (let i = 1; i <= 3; i++) {
      const cb = await acceptSpec(store, makeSpec({ callbackId: `cb-${i}` }), clock.now());
      rows++;
      const pending = await store.transition(
        transitionOf(cb, {
          to: 'pending',
          reason: null,
          at: clock.now(),
          set: { conversationId: `conv-${i}` },
        }),
      );
      expect(pending).not.toBeNull();
      rows++;
    }
    return rows;
  }

  it('delivers every event exactly once by event id through failures, with signed bodies and CRM statuses', async () => {
    const rows = await makeEvents();
    const delivery = createWebhookDelivery(ledger.store, clock, {
      url,
      secret: SECRET,
      backoffBaseMs: 1_000,
      timeoutMs: 2_000,
      random: () => 0.5,
      crmStatusMap: { pending: 'Callback Scheduled' },
    });

    // Down: every request answered 503.
    let failures = 0;
    crm.answer(() => {
      failures++;
      return 'fail';
    });
    const first = await delivery.runOnce();
    expect(first).toEqual({ delivered: 0, failed: rows, dead: 0 });
    // Backoff holds the rows back: nothing is due until the clock moves.
    expect(await delivery.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 0 });

    // Recovering, flakily: the first two events are processed but the connection drops before the
    // answer, so the worker must send them again and the receiver sees their event ids twice.
    let dropped = 0;
    crm.answer(() => (dropped++ < 2 ? 'process-then-drop' : 'ok'));
    for (let pass = 0; pass < 10; pass++) {
      clock.advance(60_000);
      await delivery.runOnce();
    }

    expect(failures).toBe(rows);
    expect(dropped).toBeGreaterThanOrEqual(2);
    expect(crm.raw.length).toBe(rows * 2 + 2);
    expect(crm.badSignatures).toBe(0);
    // Nothing lost: one unique event per outbox row; nothing doubled: duplicates share an event id.
    expect(crm.unique.size).toBe(rows);
    const statuses = [...crm.unique.values()]
      .map((r) => `${r.body.data.callbackId}:${r.body.crmStatus}`)
      .sort();
    expect(statuses).toEqual([
      'cb-1:Callback Requested',
      'cb-1:Callback Scheduled',
      'cb-2:Callback Requested',
      'cb-2:Callback Scheduled',
      'cb-3:Callback Requested',
      'cb-3:Callback Scheduled',
    ]);
    for (const r of crm.unique.values()) expect(r.body.eventId).toBe(r.eventId);
    // Everything is marked delivered: a further pass sends nothing.
    const before = crm.raw.length;
    clock.advance(3_600_000);
    expect(await delivery.runOnce()).toEqual({ delivered: 0, failed: 0, dead: 0 });
    expect(crm.raw.length).toBe(before);
  });

  it('keeps an event that never gets a 2xx as a dead letter instead of dropping it', async () => {
    const { store } = ledger;
    await acceptSpec(store, makeSpec({ callbackId: 'cb-dead' }), clock.now());
    crm.answer(() => 'fail');
    const delivery = createWebhookDelivery(store, clock, {
      url,
      secret: SECRET,
      maxAttempts: 3,
      backoffBaseMs: 1_000,
      random: () => 0.5,
    });
    const outcomes = [];
    for (let i = 0; i < 5; i++) {
      outcomes.push(await delivery.runOnce());
      clock.advance(3_600_000);
    }
    expect(outcomes.map((o) => `${o.failed}/${o.dead}`)).toEqual(['1/0', '1/0', '0/1', '0/0', '0/0']);
    const dead = await store.listDead(10);
    expect(dead).toHaveLength(1);
    const [row] = dead;
    expect(row?.lastError).toMatch(/HTTP 503 \(after 3 attempts\)/);
    expect(row?.payload).toMatchObject({ callbackId: 'cb-dead' });
  });

  it('treats a receiver that does not answer within timeoutMs as a failed attempt', async () => {
    await acceptSpec(ledger.store, makeSpec({ callbackId: 'cb-slow' }), clock.now());
    crm.answer(() => 'hang');
    const delivery = createWebhookDelivery(ledger.store, clock, { url, secret: SECRET, timeoutMs: 200 });
    expect(await delivery.runOnce()).toEqual({ delivered: 0, failed: 1, dead: 0 });
  });
});
