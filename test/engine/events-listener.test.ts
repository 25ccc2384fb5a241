/**
 * Event mode of tracking against the real simulator (manual clock, real notification websocket)
 * and a real SQLite ledger: the ledger follows the platform's callback events with the tracker's
 * poll off; a dropped or silent socket is replaced; what was missed meanwhile is repaired by the
 * sweep.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Models } from 'purecloud-platform-client-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createEventsListener,
  type EventsListener,
  type EventsListenerOptions,
} from '../../src/adapters/notifications.js';
import { startApp } from '../../src/app.js';
import { defaultConfigInput } from '../../src/config/defaults.js';
import { CallbackdConfigSchema } from '../../src/config/schema.js';
import { CHANNEL_LIFETIME_MS } from '../../src/simulator/notifications.js';
import { waitFor } from '../support/wait.js';
import {
  BILLING_QUEUE_ID,
  type EngineHarness,
  MINUTE,
  SUPPORT_QUEUE_ID,
  startEngineHarness,
  statusIs,
} from './harness.js';

const ANSWERS = '+14155552671';

let open: { h: EngineHarness; listener?: EventsListener }[] = [];
afterEach(async () => {
  for (const { h, listener } of open) {
    await listener?.stop();
    await h.close();
  }
  open = [];
});

async function eventHarness(opts: { sweepIntervalMs?: number } = {}) {
  const h = await startEngineHarness({ tracker: { poll: false, ...opts } });
  const entry: { h: EngineHarness; listener?: EventsListener } = { h };
  open.push(entry);
  const sockets: WebSocket[] = [];
  const reasons: string[] = [];
  const errors: string[] = [];
  const control = { down: false };
  const start = (overrides: Partial<EventsListenerOptions> = {}) => {
    const listener = createEventsListener({
      store: h.store,
      genesys: h.genesys,
      tracker: h.tracker,
      clock: h.sim.clock,
      queueIds: [SUPPORT_QUEUE_ID, BILLING_QUEUE_ID],
      watchIntervalMs: 10,
      reconnectBaseDelayMs: 5,
      reconnectMaxDelayMs: 100,
      // While "down", every connection attempt is refused (nothing listens on port 9).
      openSocket: (url) => {
        const ws = new WebSocket(control.down ? 'ws://127.0.0.1:9/' : url);
        sockets.push(ws);
        return ws;
      },
      onState: (state, detail) => {
        if (state === 'reconnecting') reasons.push(String(detail.reason));
      },
      onError: (err) => errors.push(String(err)),
      ...overrides,
    });
    entry.listener = listener;
    listener.start();
    return listener;
  };
  return { h, sockets, reasons, errors, control, start };
}

describe('event mode of tracking', () => {
  it('completes a callback from its platform event, with fewer reads than polling', async () => {
    // Polling mode, for comparison: the same callback followed by the poll alone.
    const p = await startEngineHarness();
    open.push({ h: p });
    const polled = await p.accept({ callbackNumber: ANSWERS, inMs: 2 * MINUTE });
    await p.runUntil(statusIs(p, polled.callbackId, 'completed'), { maxMs: 20 * MINUTE });
    const pollingReads = p.sim.control.requestCount('getConversation');

    // Sweep far apart so that only an event can bring the change within this test.
    const { h, start } = await eventHarness({ sweepIntervalMs: 60 * MINUTE });
    const listener = start();
    await waitFor('the listener to connect', () => listener.connected());
    const cb = await h.accept({ callbackNumber: ANSWERS, inMs: 2 * MINUTE });
    const received = () => listener.stats().events + listener.stats().heartbeats;
    const end = h.now() + 20 * MINUTE;
    await h.round();
    while ((await h.get(cb.callbackId)).status !== 'completed') {
      expect(h.now()).toBeLessThan(end);
      h.sim.clock.advanceMs(1_000);
      // Every message the simulator pushed has arrived and been applied before the next round.
      await waitFor('the events to arrive', () => received() >= h.sim.control.notificationsSent());
      await listener.drain();
      await h.round();
    }

    const done = await h.get(cb.callbackId);
    expect(done.history.map((e) => e.status)).toEqual(['accepted', 'pending', 'completed']);
    expect(listener.stats().applied).toBeGreaterThanOrEqual(1);
    expect(listener.stats().reads).toBe(0);
    // Applied within the step in which the conversation ended (the event says it ended; one read
    // of the whole conversation says how).
    const conv = h.sim.control.conversation(done.conversationId!)!;
    expect(done.updatedAt - conversationEndedAt(conv.full)).toBeLessThanOrEqual(1_000);
    const eventReads = h.sim.control.requestCount('getConversation');
    expect(pollingReads).toBeGreaterThan(2);
    expect(eventReads).toBeLessThan(pollingReads);
  });

  it('reconnects after the socket drops, and the sweep repairs a change missed while it was down', async () => {
    const { h, sockets, reasons, control, start } = await eventHarness();
    const cb = await h.accept({ callbackNumber: ANSWERS, inMs: 2 * MINUTE });
    await h.runUntil(statusIs(h, cb.callbackId, 'pending'));
    const listener = start();
    await waitFor('the listener to connect', () => listener.connected());

    control.down = true;
    sockets.at(-1)!.terminate();
    await waitFor('the listener to see the socket close', () => reasons.includes('closed'));

    // The callback is answered and ends while no socket is connected: no event reaches callbackd.
    const conversationId = (await h.get(cb.callbackId)).conversationId!;
    const ended = () => (h.sim.control.conversation(conversationId)?.endReason ?? null) !== null;
    await h.runUntil(ended, { maxMs: 10 * MINUTE });
    expect(listener.connected()).toBe(false);

    control.down = false;
    await waitFor('the listener to reconnect', () => listener.connected());
    expect(listener.stats().connections).toBe(2);

    await h.runUntil(statusIs(h, cb.callbackId, 'completed'), { maxMs: 5 * MINUTE });
    // Repaired by the sweep's read, not by an event.
    expect(listener.stats().applied).toBe(0);
    expect(h.sim.control.requestCount('getConversation')).toBeGreaterThanOrEqual(1);
    expect((await h.get(cb.callbackId)).history.map((e) => e.status)).toEqual([
      'accepted',
      'pending',
      'completed',
    ]);

    // The new connection is live: its heartbeats arrive.
    const beats = listener.stats().heartbeats;
    h.sim.clock.advanceMs(30_000);
    await waitFor('a heartbeat on the new connection', () => listener.stats().heartbeats > beats);
  });

  it('replaces a socket that stays silent past heartbeatTimeoutMs', async () => {
    const { h, sockets, reasons, start } = await eventHarness();
    const listener = start({ heartbeatTimeoutMs: 60_000 });
    await waitFor('the listener to connect', () => listener.connected());
    h.sim.clock.advanceMs(30_000);
    await waitFor('the first heartbeat', () => listener.stats().heartbeats >= 1);
    expect(reasons).toEqual([]);

    // Open but silent: nothing more is read from it.
    sockets[0]!.pause();
    for (let i = 0; i < 7; i++) h.sim.clock.advanceMs(10_000);
    await waitFor('a new connection', () => listener.connected() && listener.stats().connections === 2);
    expect(reasons).toEqual(['silent']);
    await waitFor('the silent socket to be closed', () => sockets[0]!.readyState === WebSocket.CLOSED);

    const beats = listener.stats().heartbeats;
    h.sim.clock.advanceMs(30_000);
    await waitFor('a heartbeat on the new connection', () => listener.stats().heartbeats > beats);
  });

  it('moves to a new channel before the current one expires', async () => {
    const { h, sockets, reasons, start } = await eventHarness();
    // Silence detection kept out of the way: only the renewal may replace this channel.
    const listener = start({
      renewBeforeExpiryMs: CHANNEL_LIFETIME_MS - MINUTE,
      heartbeatTimeoutMs: 10 * MINUTE,
    });
    await waitFor('the listener to connect', () => listener.connected());
    h.sim.clock.advanceMs(MINUTE + 1_000);
    await waitFor('a new channel', () => listener.stats().connections === 2 && listener.connected());
    expect(reasons).toEqual(['renew']);
    await waitFor('the old socket to be closed', () => sockets[0]!.readyState === WebSocket.CLOSED);
  });

  it('reports a topic the platform refuses (unknown queue) and still listens on the others', async () => {
    const { errors, start } = await eventHarness();
    const unknownQueue = '00000000-0000-4000-8000-000000000000';
    const listener = start({ queueIds: [SUPPORT_QUEUE_ID, unknownQueue] });
    await waitFor('the listener to connect', () => listener.connected());
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('EVENTS_TOPIC_REJECTED');
    expect(errors[0]).toContain(`v2.routing.queues.${unknownQueue}.conversations.callbacks`);
  });

  it('stop() while the channel is still being opened returns and opens no socket', async () => {
    const { sockets, start } = await eventHarness();
    const listener = start();
    await listener.stop();
    expect(listener.connected()).toBe(false);
    expect(
      sockets.every((s) => s.readyState === WebSocket.CLOSED || s.readyState === WebSocket.CLOSING),
    ).toBe(true);
  });

  it('stop() cuts a reconnect backoff short and leaves no socket open', async () => {
    const { sockets, control, start } = await eventHarness();
    const listener = start({ reconnectBaseDelayMs: 60_000, reconnectMaxDelayMs: 60_000, random: () => 1 });
    await waitFor('the listener to connect', () => listener.connected());
    control.down = true;
    sockets.at(-1)!.terminate();
    await waitFor('the socket to drop', () => !listener.connected());
    const t0 = Date.now();
    await listener.stop();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(
      sockets.every((s) => s.readyState === WebSocket.CLOSED || s.readyState === WebSocket.CLOSING),
    ).toBe(true);
  });
});

describe('startApp with tracking.mode events', () => {
  it('follows a callback to completed from platform events, with the poll off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callbackd-events-'));
    const input = defaultConfigInput();
    const config = CallbackdConfigSchema.parse({
      ...input,
      ledger: { url: join(dir, 'events.db') },
      // The sweep is an hour away (simulated), so only an event can bring the completion.
      tracking: { mode: 'events', pollIntervalMs: 200, sweepIntervalMs: 60 * MINUTE },
    });
    const t0 = Date.parse('2030-01-07T15:00:00.000Z');
    const app = await startApp({
      config,
      port: 0,
      logger: pino({ level: 'silent' }),
      simulatorStartTime: t0,
    });
    try {
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(app.url + path, {
          method,
          headers: {
            authorization: `Bearer ${app.demoKey}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return (await res.json()) as Record<string, unknown>;
      };
      const created = await api('POST', '/api/v2/routing/callbacks', {
        callbackNumber: ANSWERS,
        callbackFrom: '+18005551234',
        callbackTo: '+18005551234',
        scheduledTime: new Date(t0 + 2 * MINUTE).toISOString(),
        timeout: 300,
        routingData: { queueId: SUPPORT_QUEUE_ID, priority: 5 },
        mediaType: 'voice',
        customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
      });
      expect(created.status, JSON.stringify(created)).toBe('accepted');
      const path = `/api/v2/routing/callbacks/${String(created.callbackId)}`;
      const pending = await waitFor('pending', async () => {
        const r = await api('GET', path);
        return r.status === 'pending' ? r : undefined;
      });
      // The listener is connected once a heartbeat has been pushed to it.
      const sim = app.simulator!;
      // It may still be opening its channel when the first heartbeat falls due: step the clock a
      // heartbeat at a time until one reaches it.
      const sent = sim.control.notificationsSent();
      await waitFor(
        'a heartbeat pushed to the listener',
        () => {
          if (sim.control.notificationsSent() > sent) return true;
          sim.clock.advanceMs(30_000);
          return false;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );

      const conversationId = String(pending.conversationId);
      const ended = () => (sim.control.conversation(conversationId)?.endReason ?? null) !== null;
      for (let i = 0; i < 10 * 60 && !ended(); i++) {
        sim.clock.advanceMs(1_000);
        // Lets the socket's messages in between steps, as simulated time moves.
        await api('GET', path);
      }
      expect(ended()).toBe(true);
      await waitFor('completed from the event', async () => (await api('GET', path)).status === 'completed');
      // The end event says it ended; one read of the whole conversation says how.
      expect(sim.control.requestCount('getCallback')).toBe(0);
      expect(sim.control.requestCount('getConversation')).toBe(1);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The last end of any medium in a GET /api/v2/conversations/{id} view. */
function conversationEndedAt(full: Record<string, unknown>): number {
  const c = full as unknown as Models.Conversation;
  const ends = c.participants.flatMap((p) =>
    [...(p.callbacks ?? []), ...(p.calls ?? [])].map((m) => Date.parse(m.disconnectedTime ?? '')),
  );
  return Math.max(...ends.filter((t) => Number.isFinite(t)));
}
