/**
 * Notification channels: POST /api/v2/notifications/channels gives {id, connectUri, expires};
 * subscriptions are lists of topics; the websocket at connectUri receives {topicName, eventBody}
 * for `v2.routing.queues.{queueId}.conversations.callbacks` (the callback media, with the
 * `scheduled` state and participant attributes) and a `channel.metadata` heartbeat every 30 s of
 * simulator time. A 21st channel replaces the least recently used one (unconnected first); a
 * topic the app may not see fails the subscribe unless ?ignoreErrors=true; a socket the platform
 * closes gets `v2.system.socket_closing` first.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { ApiError, badRequest, invalidValue } from './errors.js';
import type { Platform, SimConversation } from './model.js';
import { callbackEvent, type ViewContext } from './views.js';

export const CHANNEL_LIMIT = 20;
export const TOPIC_LIMIT = 1000;
export const CHANNEL_LIFETIME_MS = 24 * 3600 * 1000;
export const HEARTBEAT_INTERVAL_MS = 30_000;

const QUEUE_CALLBACK_TOPIC = /^v2\.routing\.queues\.([0-9a-fA-F-]{36})\.conversations\.callbacks$/;

interface Channel {
  id: string;
  clientId: string;
  createdMs: number;
  /** Last connect, subscribe or delivery: the eviction order of a 21st channel. */
  lastUsedMs: number;
  expiresMs: number;
  topics: Map<string, string>;
  socket?: WebSocket;
}

export class Notifications {
  private readonly channels = new Map<string, Channel>();
  private readonly wss = new WebSocketServer({ noServer: true });
  /** Every message pushed, for tests and the demo. */
  sent = 0;
  /** false: no topic events are delivered (heartbeats still are): a channel that looks healthy but is silent. */
  enabled = true;
  /** Topics (exact names, or prefixes ending in `*`) the app lacks the permission for. */
  forbiddenTopics: string[] = [];

  constructor(
    private readonly platform: Platform,
    private readonly now: () => number,
    private readonly log: (line: string) => void,
    private readonly views: ViewContext,
  ) {
    platform.onChange((conv) => this.publish(conv));
  }

  private wsBase = '';

  setWsBase(url: string): void {
    this.wsBase = url;
  }

  private live(id: string): Channel | undefined {
    const ch = this.channels.get(id);
    if (!ch) return undefined;
    if (ch.expiresMs <= this.now()) {
      this.drop(ch, 'channel expired');
      return undefined;
    }
    return ch;
  }

  private drop(ch: Channel, why: string): void {
    this.channels.delete(ch.id);
    if (ch.socket) this.closeSocket(ch.socket, 1000, why);
  }

  /** The platform warns with `v2.system.socket_closing` before it closes a socket [SDK, forum]. */
  private closeSocket(ws: WebSocket, code: number, why: string): void {
    this.send(ws, { topicName: 'v2.system.socket_closing', eventBody: { message: why } });
    ws.close(code, why);
  }

  /** Closes every open socket the way the platform does (warning first); channels stay. */
  closeSockets(why = 'socket closing'): number {
    let n = 0;
    for (const ch of this.channels.values()) {
      if (!ch.socket) continue;
      this.closeSocket(ch.socket, 1001, why);
      ch.socket = undefined;
      n++;
    }
    return n;
  }

  create(clientId: string): { id: string; connectUri: string; expires: string } {
    const mine = [...this.channels.values()].filter((c) => c.clientId === clientId && this.live(c.id));
    if (mine.length >= CHANNEL_LIMIT) {
      // A 21st channel is not refused: it replaces the least recently used, unconnected ones first.
      const victim = mine.sort(
        (a, b) =>
          Number(a.socket !== undefined) - Number(b.socket !== undefined) || a.lastUsedMs - b.lastUsedMs,
      )[0]!;
      this.log(`[sim] notification channel ${victim.id.slice(0, 20)} replaced by a new channel`);
      this.drop(victim, 'channel replaced by a newer channel');
    }
    const now = this.now();
    const ch: Channel = {
      id: `streaming-0-${randomUUID().replace(/-/g, '').slice(0, 26)}`,
      clientId,
      createdMs: now,
      lastUsedMs: now,
      expiresMs: now + CHANNEL_LIFETIME_MS,
      topics: new Map(),
    };
    this.channels.set(ch.id, ch);
    return this.describe(ch);
  }

  private describe(ch: Channel): { id: string; connectUri: string; expires: string } {
    return {
      id: ch.id,
      connectUri: `${this.wsBase}/channels/${ch.id}`,
      expires: new Date(ch.expiresMs).toISOString(),
    };
  }

  list(clientId: string): { entities: { id: string; connectUri: string; expires: string }[] } {
    const entities = [...this.channels.values()]
      .filter((c) => c.clientId === clientId && this.live(c.id))
      .map((c) => this.describe(c));
    return { entities };
  }

  exists(id: string, clientId: string): boolean {
    const ch = this.live(id);
    return ch !== undefined && ch.clientId === clientId;
  }

  private owned(id: string, clientId: string): Channel {
    const ch = this.live(id);
    if (!ch || ch.clientId !== clientId) {
      throw new ApiError(404, 'not.found', `Channel ${id} was not found or has expired.`, { channelId: id });
    }
    return ch;
  }

  private forbidden(topic: string): boolean {
    return this.forbiddenTopics.some((f) =>
      f.endsWith('*') ? topic.startsWith(f.slice(0, -1)) : topic === f,
    );
  }

  /** POST adds topics, PUT replaces them; a forbidden topic fails the whole request unless ignoreErrors. */
  subscribe(
    id: string,
    clientId: string,
    raw: unknown,
    replace: boolean,
    ignoreErrors = false,
  ): { entities: object[] } {
    const ch = this.owned(id, clientId);
    if (!Array.isArray(raw)) {
      throw badRequest(
        'The body must be an array of topics, e.g. [{"id": "v2.routing.queues.{id}.conversations.callbacks"}].',
      );
    }
    const wanted = new Map<string, string>();
    raw.forEach((t, i) => {
      const topicId = t !== null && typeof t === 'object' ? (t as Record<string, unknown>)['id'] : undefined;
      if (typeof topicId !== 'string')
        throw invalidValue(`[${i}].id`, `[${i}].id must be a topic name string.`);
      const m = QUEUE_CALLBACK_TOPIC.exec(topicId);
      if (!m) {
        throw new ApiError(
          400,
          'notification.topic.invalid',
          `Topic ${topicId.slice(0, 120)} is not one the simulator offers (v2.routing.queues.{queueId}.conversations.callbacks).`,
          { topic: topicId.slice(0, 120) },
        );
      }
      wanted.set(topicId, m[1]!.toLowerCase());
    });
    const refused = [...wanted.keys()].filter((t) => this.forbidden(t));
    if (refused.length > 0 && !ignoreErrors) {
      throw new ApiError(
        403,
        'missing.permissions',
        `The app lacks the permission for ${refused.length} topic(s), e.g. ${refused[0]!.slice(0, 120)}; subscribe with ?ignoreErrors=true to keep the others.`,
      );
    }
    const next = replace ? wanted : new Map([...ch.topics, ...wanted]);
    if (next.size > TOPIC_LIMIT) {
      throw new ApiError(400, 'notification.topic.limit', `A channel holds at most ${TOPIC_LIMIT} topics.`);
    }
    ch.topics = next;
    ch.lastUsedMs = this.now();
    return this.topics(id, clientId);
  }

  topics(id: string, clientId: string): { entities: object[] } {
    const ch = this.owned(id, clientId);
    return {
      entities: [...ch.topics.entries()].map(([topic, queueId]) =>
        this.forbidden(topic)
          ? { id: topic, state: 'Rejected', rejectionReason: 'Missing permission for this topic.' }
          : this.platform.queues.has(queueId)
            ? { id: topic, state: 'Permitted' }
            : { id: topic, state: 'Rejected', rejectionReason: 'The queue does not exist.' },
      ),
    };
  }

  unsubscribeAll(id: string, clientId: string): void {
    this.owned(id, clientId).topics.clear();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const m = /^\/channels\/([^/]+)$/.exec(path);
    const ch = m ? this.live(m[1]!) : undefined;
    if (!ch) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // One connection per channel: a new one takes over and the old one is closed.
      if (ch.socket && ch.socket.readyState === WebSocket.OPEN)
        ch.socket.close(4000, 'replaced by a newer connection');
      ch.socket = ws;
      ch.lastUsedMs = this.now();
      ws.on('message', (data) => {
        let msg: unknown;
        try {
          msg = JSON.parse(String(data));
        } catch {
          return;
        }
        if (msg && typeof msg === 'object' && (msg as Record<string, unknown>)['message'] === 'ping') {
          this.send(ws, { topicName: 'channel.metadata', eventBody: { message: 'pong' } });
        }
      });
      ws.on('close', () => {
        if (ch.socket === ws) ch.socket = undefined;
      });
      ws.on('error', () => {
        // A broken client connection is the client's problem; the channel stays.
      });
      this.log(`[sim] notification channel ${ch.id.slice(0, 20)} connected`);
    });
  }

  private send(ws: WebSocket, message: object): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(message));
    this.sent++;
  }

  publish(conv: SimConversation): void {
    if (!this.enabled) return;
    const topicName = `v2.routing.queues.${conv.queueId}.conversations.callbacks`;
    let eventBody: object | undefined;
    for (const ch of this.channels.values()) {
      if (!ch.socket || !ch.topics.has(topicName) || this.forbidden(topicName)) continue;
      eventBody ??= callbackEvent(this.views, conv);
      ch.lastUsedMs = this.now();
      this.send(ch.socket, { topicName, version: '2', eventBody, metadata: { CorrelationId: randomUUID() } });
    }
  }

  heartbeat(): void {
    for (const ch of [...this.channels.values()]) {
      if (ch.expiresMs <= this.now()) {
        this.drop(ch, 'channel expired');
        continue;
      }
      if (ch.socket) {
        this.send(ch.socket, {
          topicName: 'channel.metadata',
          eventBody: { message: 'WebSocket Heartbeat' },
        });
      }
    }
  }

  closeAll(): void {
    for (const ch of this.channels.values()) ch.socket?.terminate();
    this.channels.clear();
    this.wss.close();
  }

  reset(): void {
    for (const ch of this.channels.values())
      if (ch.socket) this.closeSocket(ch.socket, 1001, 'simulator reset');
    this.channels.clear();
    this.enabled = true;
    this.forbiddenTopics = [];
  }
}
