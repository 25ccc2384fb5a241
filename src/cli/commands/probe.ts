/**
 * `callbackd doctor --probe --queue Q --number N`: checks, on a real org (or the simulator), each
 * platform behaviour callbackd relies on, with one real callback scheduled far ahead under a probe
 * callbackId, which it always disconnects again (also on Ctrl-C):
 *
 * - the create answer names the conversation;
 * - the callback GET carries our attributes and the schedule; the conversation GET has the
 *   callback media (callbacks[]) the tracker maps outcomes from;
 * - the notification channel delivers the queue's callback event with the attributes;
 * - which look-up strategies (genesys/lookup.ts) find the callback by its callbackId, and after
 *   how many seconds;
 * - answers carry the inin-ratelimit-* headers the client paces itself by.
 *
 * Each failed assumption is named with what callbackd does instead; any failure exits 1.
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import type { CallbackSpec } from '../../domain/types.js';
import type { GenesysClient } from '../../genesys/client.js';
import { fromCallbackConversation } from '../../genesys/conversation-read.js';
import {
  createCallbackEventIndex,
  createCallbackLookup,
  type LookupStrategy,
  type LookupTarget,
} from '../../genesys/lookup.js';
import { ATTR } from '../../genesys/mapping.js';
import { PlatformError, queueCallbackTopic } from '../../genesys/port.js';

export interface ProbeCheck {
  assumption: string;
  ok: boolean;
  detail: string;
  /** What callbackd does when this does not hold. */
  instead?: string;
}

export interface ProbeReport {
  ok: boolean;
  callbackId: string;
  conversationId: string | null;
  /** Seconds from the create until each strategy found it (null: not within the wait). */
  foundAfterSeconds: Record<LookupStrategy, number | null>;
  checks: ProbeCheck[];
  /** True when the probe callback was disconnected again (or never made). */
  cleanedUp: boolean;
}

export interface ProbeOptions {
  queueId: string;
  callbackNumber: string;
  /** The caller id (a DID of the queue). */
  callbackFrom: string;
  /** How long to wait for every strategy to find the probe callback. */
  waitSeconds: number;
  /** Cuts the wait short (Ctrl-C); the probe callback is still disconnected. */
  signal?: AbortSignal;
  now?: () => number;
  /** Spacing of look-up attempts while waiting. */
  intervalMs?: number;
}

const INSTEAD: Record<LookupStrategy, string> = {
  events:
    'unclear creates settle through the search and analytics windows instead (sendWindowMs + analyticsLagMs, not seconds); event mode would miss changes until the sweep',
  search:
    'the look-up relies on channel events and the details query by queue and number (each candidate read with a GET)',
  details: 'the look-up relies on channel events and the attribute search; cancels of in-flight creates too',
};

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

function describe(err: unknown): string {
  if (err instanceof PlatformError)
    return `${err.reason.code} (${err.httpStatus ?? 'no answer'}): ${err.reason.message}`;
  return err instanceof Error ? err.message : String(err);
}

interface Channel {
  close(): void;
  eventsWithAttributes: number;
  events: number;
}

async function openChannel(
  genesys: GenesysClient,
  queueId: string,
  onEvent: (body: unknown) => void,
): Promise<Channel> {
  const channel = await genesys.createNotificationChannel();
  const topics = await genesys.subscribe(channel.id, [queueCallbackTopic(queueId)]);
  const refused = topics.filter((t) => t.state !== undefined && t.state !== 'Permitted');
  if (refused.length > 0)
    throw new Error(`the topic was refused: ${refused.map((t) => t.rejectionReason ?? t.state).join('; ')}`);
  const socket = new WebSocket(channel.connectUri);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const state: Channel = { close: () => socket.terminate(), events: 0, eventsWithAttributes: 0 };
  socket.on('message', (data) => {
    try {
      const msg = JSON.parse(String(data)) as { topicName?: string; eventBody?: unknown };
      if (msg.topicName === queueCallbackTopic(queueId)) {
        state.events++;
        onEvent(msg.eventBody);
      }
    } catch {
      // Not JSON: not an event.
    }
  });
  return state;
}

export async function runProbe(genesys: GenesysClient, o: ProbeOptions): Promise<ProbeReport> {
  const now = o.now ?? Date.now;
  const checks: ProbeCheck[] = [];
  const callbackId = `callbackd-probe-${randomBytes(6).toString('hex')}`;
  const tenantId = 'callbackd-probe';
  const events = createCallbackEventIndex();
  const lookup = createCallbackLookup({ genesys, clock: { now }, events, maxCandidateReads: 25 });
  const report: ProbeReport = {
    ok: false,
    callbackId,
    conversationId: null,
    foundAfterSeconds: { events: null, search: null, details: null },
    checks,
    cleanedUp: true,
  };

  let channel: Channel | null = null;
  let attributesInEvent = false;
  try {
    channel = await openChannel(genesys, o.queueId, (body) => {
      const conv = fromCallbackConversation(body, '', 'event');
      if (conv.participants.some((p) => p.attributes?.[ATTR.callbackId] === callbackId))
        attributesInEvent = true;
      events.note(conv);
    });
    checks.push({
      assumption: 'a notification channel opens and subscribes to the queue callback topic',
      ok: true,
      detail: 'connected',
    });
  } catch (err) {
    checks.push({
      assumption: 'a notification channel opens and subscribes to the queue callback topic',
      ok: false,
      detail: describe(err),
      instead: INSTEAD.events,
    });
  }

  const createdAt = now();
  const spec: CallbackSpec = {
    callbackId,
    callbackNumber: o.callbackNumber,
    callbackFrom: o.callbackFrom,
    callbackTo: o.callbackFrom,
    // Far ahead: the probe must never ring anyone; it is disconnected when the probe ends.
    scheduledTime: new Date(createdAt + 7 * 86_400_000).toISOString(),
    timeout: 300,
    routingData: { queueId: o.queueId, priority: 0 },
    mediaType: 'voice',
    customerData: { externalId: 'callbackd-probe', firstName: 'callbackd', lastName: 'probe' },
  };
  let conversationId: string;
  try {
    conversationId = (await genesys.createCallback(spec, { tenantId })).conversationId;
  } catch (err) {
    checks.push({
      assumption: 'POST /api/v2/conversations/callbacks answers {conversation: {id}}',
      ok: false,
      detail: describe(err),
      instead: 'nothing can be scheduled: fix this first (queue id, number, caller id, permissions)',
    });
    channel?.close();
    return report;
  }
  report.conversationId = conversationId;
  report.cleanedUp = false;
  checks.push({
    assumption: 'POST /api/v2/conversations/callbacks answers {conversation: {id}}',
    ok: true,
    detail: conversationId,
  });

  try {
    try {
      const cb = await genesys.getCallbackConversation(conversationId);
      const carries = cb.participants.some((p) => p.attributes?.[ATTR.callbackId] === callbackId);
      const scheduled = cb.participants.some((p) => p.callbackScheduledTime !== undefined);
      checks.push({
        assumption: 'GET …/conversations/callbacks/{id} carries our attributes and callbackScheduledTime',
        ok: carries && scheduled,
        detail: `attributes ${carries ? 'present' : 'missing'}, callbackScheduledTime ${scheduled ? 'present' : 'missing'}`,
        instead:
          'the look-up cannot match candidates by callbackId; unclear creates are never re-sent (they wait)',
      });
      const full = await genesys.getConversation(conversationId);
      const media = full.participants.some((p) => p.callbackMedia === true);
      checks.push({
        assumption:
          'GET /api/v2/conversations/{id} shows participants with callbacks[] (calls[] once dialled)',
        ok: media,
        detail: media ? 'callback media present' : 'no participant with callbacks[]',
        instead: 'outcomes cannot be read from the voice legs; callbacks end with PLATFORM_OUTCOME_UNKNOWN',
      });
    } catch (err) {
      checks.push({
        assumption: 'the callback and conversation GETs answer',
        ok: false,
        detail: describe(err),
        instead:
          'tracking cannot read outcomes; grant conversation:callback:view / conversation:communication:view',
      });
    }

    const target: LookupTarget = {
      callbackId,
      tenantId,
      queueIds: [o.queueId],
      callbackNumber: o.callbackNumber,
      attemptFrom: createdAt,
      attemptTo: now(),
    };
    const failures: Partial<Record<LookupStrategy, string>> = {};
    const pending = new Set<LookupStrategy>(['events', 'search', 'details']);
    if (!channel) pending.delete('events');
    const deadline = createdAt + o.waitSeconds * 1000;
    while (pending.size > 0 && !o.signal?.aborted) {
      for (const s of [...pending]) {
        try {
          const r = await lookup.only(s, target);
          if (r.found.includes(conversationId)) {
            report.foundAfterSeconds[s] = Math.round((now() - createdAt) / 100) / 10;
            pending.delete(s);
          }
        } catch (err) {
          failures[s] = describe(err);
          pending.delete(s);
        }
      }
      if (pending.size === 0 || now() >= deadline) break;
      await sleep(o.intervalMs ?? 2_000, o.signal);
    }
    for (const s of ['events', 'search', 'details'] as const) {
      if (s === 'events' && !channel) continue;
      const after = report.foundAfterSeconds[s];
      const what = {
        events: 'the channel delivers the callback event carrying its attributes',
        search: 'the participant-attributes search (DATE_RANGE on startTime) finds it by callbackId',
        details: 'the details query by queue, media type and number finds it (matched by a GET)',
      }[s];
      checks.push({
        assumption: what,
        ok: after !== null,
        detail:
          after !== null
            ? `found after ${after} s${s === 'events' && !attributesInEvent ? ' (attributes missing in the event)' : ''}`
            : (failures[s] ??
              `not found within ${o.waitSeconds} s${s === 'events' ? ` (${channel?.events ?? 0} events received)` : ''}`),
        instead: INSTEAD[s],
      });
    }
    const headers = genesys.stats().headersSeen;
    checks.push({
      assumption: 'answers carry inin-ratelimit-allowed/-count/-reset',
      ok: headers > 0,
      detail: `${headers} answers carried them`,
      instead: 'the client paces itself by its own budget (genesys.requestsPerMinute) and Retry-After only',
    });
  } finally {
    channel?.close();
    try {
      await genesys.disconnectCallback(conversationId);
      report.cleanedUp = true;
    } catch (err) {
      checks.push({
        assumption: 'PATCH …/conversations/callbacks/{id} {state: disconnected} removes the probe callback',
        ok: false,
        detail: `${describe(err)}; disconnect conversation ${conversationId} by hand`,
        instead: 'cancels cannot take a callback off the platform',
      });
    }
  }
  report.ok = checks.every((c) => c.ok);
  return report;
}

export function formatProbe(r: ProbeReport): string[] {
  const lines = [
    `probe callback ${r.callbackId}${r.conversationId ? ` (conversation ${r.conversationId})` : ''}`,
  ];
  for (const c of r.checks) {
    lines.push(`${c.ok ? '✓' : '✗'} ${c.assumption}: ${c.detail}`);
    if (!c.ok && c.instead) lines.push(`    callbackd instead: ${c.instead}`);
  }
  lines.push(
    r.cleanedUp ? 'probe callback disconnected' : 'probe callback NOT disconnected: remove it by hand',
  );
  const failed = r.checks.filter((c) => !c.ok).length;
  lines.push(
    failed === 0
      ? 'doctor --probe: every assumption holds'
      : `doctor --probe: ${failed} assumption(s) failed`,
  );
  return lines;
}
