/**
 * Event mode of tracking (DESIGN.md §4): follows callbacks from the platform's notification
 * channel instead of polling them.
 *
 * It opens a channel, subscribes it to the callback topic of every configured queue, connects a
 * websocket to it and, for each event about a callback conversation callbackd holds, applies the
 * conversation through the tracker (Tracker.applyConversation, the path the poll's reads take).
 * The event body is the conversation with its participants (as GET returns it); when a body lacks
 * the participants' states it re-reads the conversation instead.
 *
 * Events are not guaranteed: a socket can drop or fall silent and a channel expires. The listener
 * reconnects with backoff when the socket closes or no message (the platform sends a heartbeat
 * every 30 s) arrives for heartbeatTimeoutMs, and moves to a new channel before the old one
 * expires. What changed meanwhile is repaired by the tracker's sweep, which keeps running.
 */
import { WebSocket } from 'ws';
import type { Clock, EpochMs } from '../domain/types.js';
import { fromCallbackConversation } from '../genesys/conversation-read.js';
import type { CallbackEventIndex } from '../genesys/lookup.js';
import { ATTR } from '../genesys/mapping.js';
import {
  type GenesysPort,
  type NotificationsPort,
  type PlatformConversation,
  queueCallbackTopic,
} from '../genesys/port.js';
import type { Tracker } from '../jobs/tracker.js';
import type { CallbackRecord, Store } from '../ledger/port.js';
import { backoffMs } from '../shared/backoff.js';
import { sleep } from '../shared/sleep.js';

export interface EventsListenerOptions {
  store: Store;
  genesys: NotificationsPort & Pick<GenesysPort, 'getConversation'>;
  tracker: Pick<Tracker, 'applyConversation'>;
  /** Platform time: heartbeat silence and channel expiry are measured on it. */
  clock: Clock;
  /** Every callback event's conversation is noted here: the submitter's look-up by callbackId reads it. */
  eventIndex?: CallbackEventIndex;
  /** Queues whose callback topic is subscribed. */
  queueIds: readonly string[];
  /** No message (event or heartbeat) for this long: the socket is taken as dead and replaced. */
  heartbeatTimeoutMs?: number;
  /** Move to a new channel this long before the current one expires. */
  renewBeforeExpiryMs?: number;
  /** Reconnect backoff (full jitter), doubling from base up to max. */
  reconnectBaseDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** How often (wall time) the listener checks heartbeat silence and channel expiry. */
  watchIntervalMs?: number;
  /** Tests: how a websocket is opened. */
  openSocket?: (url: string) => WebSocket;
  random?: () => number;
  /** Errors caught (a failed connect, an event that could not be applied); the listener goes on. */
  onError?: (err: unknown, context: string) => void;
  /** Connected, reconnecting, renewing: for logs. */
  onState?: (state: string, detail: Record<string, unknown>) => void;
}

export const EVENTS_LISTENER_DEFAULTS = {
  heartbeatTimeoutMs: 60_000,
  renewBeforeExpiryMs: 10 * 60_000,
  reconnectBaseDelayMs: 1_000,
  reconnectMaxDelayMs: 60_000,
  watchIntervalMs: 1_000,
} as const;

export interface EventsListenerStats {
  /** Channels opened and connected. */
  connections: number;
  /** Connections that ended other than by stop(): closed, silent or renewed. */
  reconnects: number;
  heartbeats: number;
  /** Callback events received. */
  events: number;
  /** Events that wrote a transition. */
  applied: number;
  /** Events about conversations callbackd does not hold (or no longer pending). */
  ignored: number;
  /** Conversations re-read because the event body did not carry them. */
  reads: number;
  errors: number;
}

export interface EventsListener {
  start(): void;
  /** Cuts any backoff short, closes the socket and waits for the event in hand. */
  stop(): Promise<void>;
  /** True while a socket is open and subscribed. */
  connected(): boolean;
  /** Resolves when every event received so far has been applied. */
  drain(): Promise<void>;
  stats(): EventsListenerStats;
}

type EndReason = 'closed' | 'silent' | 'renew' | 'stopped';

interface Connection {
  socket: WebSocket;
  expiresMs: EpochMs;
  /** Resolves once, with why the connection should be left. */
  ended: Promise<EndReason>;
  close(): void;
}

export function createEventsListener(options: EventsListenerOptions): EventsListener {
  const o = { ...EVENTS_LISTENER_DEFAULTS, ...defined(options) };
  const { store, genesys, tracker, clock } = options;
  const random = options.random ?? Math.random;
  const openSocket = options.openSocket ?? ((url: string) => new WebSocket(url));
  const topics = [...new Set(options.queueIds)].map(queueCallbackTopic);
  const stats: EventsListenerStats = {
    connections: 0,
    reconnects: 0,
    heartbeats: 0,
    events: 0,
    applied: 0,
    ignored: 0,
    reads: 0,
    errors: 0,
  };

  let stopController = new AbortController();
  let running: Promise<void> | null = null;
  let current: Connection | null = null;
  // Events are applied one at a time, in arrival order, so a later state never loses to an earlier.
  let queue: Promise<void> = Promise.resolve();

  function fail(err: unknown, context: string) {
    stats.errors++;
    options.onError?.(err, context);
  }

  async function connect(signal: AbortSignal): Promise<Connection> {
    const channel = await genesys.createNotificationChannel();
    // No queue configured: nothing to subscribe (the channel still proves the connection).
    const subscribed = topics.length > 0 ? await genesys.subscribe(channel.id, topics) : [];
    const refused = subscribed.filter((t) => t.state !== undefined && t.state !== 'Permitted');
    if (refused.length > 0) {
      // The others still work; these queues are left to the sweep.
      fail(
        new Error(
          `EVENTS_TOPIC_REJECTED: the platform refused ${refused.length} topic(s) (${refused
            .map((t) => `${t.id}: ${t.rejectionReason ?? t.state}`)
            .join('; ')}); check the queue ids and the client's permissions.`,
        ),
        'subscribe',
      );
    }
    const expiresMs = Date.parse(channel.expires);
    // An abort listener added after the abort would never fire.
    if (signal.aborted) throw new Error('stopped');
    const socket = openSocket(channel.connectUri);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        socket.terminate();
        reject(new Error('stopped'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('open', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      socket.once('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
    });

    let lastMessageAt = clock.now();
    let settle: (r: EndReason) => void = () => {};
    const ended = new Promise<EndReason>((resolve) => {
      settle = resolve;
    });
    const watch = setInterval(() => {
      const now = clock.now();
      // Renewal first when both are due (a clock that jumped): it opens the new channel before
      // leaving the old one, which a silent socket's reconnect does not.
      if (Number.isFinite(expiresMs) && now >= expiresMs - o.renewBeforeExpiryMs) settle('renew');
      else if (now - lastMessageAt >= o.heartbeatTimeoutMs) settle('silent');
    }, o.watchIntervalMs);
    const onAbort = () => settle('stopped');
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) settle('stopped');
    socket.on('message', (data) => {
      lastMessageAt = clock.now();
      onMessage(String(data));
    });
    socket.on('close', () => settle('closed'));
    socket.on('error', (err) => {
      fail(err, 'socket');
      settle('closed');
    });
    stats.connections++;
    return {
      socket,
      expiresMs,
      ended: ended.finally(() => {
        clearInterval(watch);
        signal.removeEventListener('abort', onAbort);
      }),
      close() {
        settle('stopped');
        socket.removeAllListeners('message');
        if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
          socket.terminate();
        }
      },
    };
  }

  function onMessage(text: string) {
    let msg: { topicName?: unknown; eventBody?: unknown };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return;
    }
    if (msg.topicName === 'channel.metadata') {
      stats.heartbeats++;
      return;
    }
    if (typeof msg.topicName !== 'string' || !topics.includes(msg.topicName)) return;
    stats.events++;
    const body = msg.eventBody;
    queue = queue.then(() => handleEvent(body)).catch((err) => fail(err, 'event'));
  }

  async function handleEvent(body: unknown): Promise<void> {
    const b = (body ?? {}) as { id?: unknown; participants?: unknown };
    if (typeof b.id !== 'string') return void stats.ignored++;
    let conversation: PlatformConversation = fromCallbackConversation(body, b.id, 'event');
    // Before the ledger check: an unclear create has no conversation id in the ledger yet.
    options.eventIndex?.note(conversation);
    const rec = await findRecord(b.id, b.participants);
    if (!rec) return void stats.ignored++;
    if (conversation.participants.length === 0 || conversation.participants.some((p) => !p.state)) {
      // A body without the participants' states cannot be mapped: read the conversation.
      stats.reads++;
      conversation = await genesys.getConversation(b.id);
    }
    if (await tracker.applyConversation(rec, conversation)) stats.applied++;
  }

  /** The pending callback this conversation belongs to, found by the attributes callbackd stamps. */
  async function findRecord(conversationId: string, participants: unknown): Promise<CallbackRecord | null> {
    if (!Array.isArray(participants)) return null;
    for (const p of participants as { attributes?: Record<string, unknown> }[]) {
      const callbackId = p?.attributes?.[ATTR.callbackId];
      const tenantId = p?.attributes?.[ATTR.tenantId];
      if (typeof callbackId !== 'string' || typeof tenantId !== 'string') continue;
      const rec = await store.get(tenantId, callbackId);
      // Another attempt's conversation (a refused one being retried) is not this row's business.
      if (rec && rec.status === 'pending' && rec.conversationId === conversationId) return rec;
      return null;
    }
    return null;
  }

  async function run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let previous: Connection | null = null;
    while (!signal.aborted) {
      try {
        current = await connect(signal);
        const connectedAt = clock.now();
        // A renewal opens the new channel before leaving the old one, so no event falls between.
        previous?.close();
        previous = null;
        options.onState?.('connected', { expires: new Date(current.expiresMs).toISOString() });
        const reason = await current.ended;
        if (reason === 'stopped') break;
        // A connection that lasted resets the backoff; one that keeps dropping at once grows it.
        failures = clock.now() - connectedAt >= o.heartbeatTimeoutMs ? 0 : failures + 1;
        stats.reconnects++;
        options.onState?.('reconnecting', { reason });
        if (reason === 'renew') {
          previous = current;
          current = null;
          continue;
        }
        current.close();
        current = null;
      } catch (err) {
        current?.close();
        current = null;
        previous?.close();
        previous = null;
        if (signal.aborted) break;
        fail(err, 'connect');
        failures++;
      }
      const delayMs = backoffMs(
        failures + 1,
        { baseDelayMs: o.reconnectBaseDelayMs, maxDelayMs: o.reconnectMaxDelayMs, jitter: 'full' },
        random,
      );
      await sleep(delayMs, signal);
    }
    current?.close();
    current = null;
    previous?.close();
    await queue;
  }

  return {
    start() {
      if (running) return;
      stopController = new AbortController();
      running = run(stopController.signal);
    },
    async stop() {
      if (!running) return;
      stopController.abort();
      await running;
      running = null;
    },
    connected: () => current !== null && current.socket.readyState === WebSocket.OPEN,
    drain: () => queue,
    stats: () => ({ ...stats }),
  };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
