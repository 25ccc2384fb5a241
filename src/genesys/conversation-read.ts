/**
 * The platform's conversation reads → PlatformConversation. Four sources, each as the SDK models it:
 * the callback GET and queue callback events (callback media only), GET /api/v2/conversations/{id}
 * (every media: callbacks[] and calls[] per participant, with wrap-up), and analytics details
 * (callback and voice sessions of segments, no attributes).
 */
import type {
  ConversationSource,
  PlatformCallLeg,
  PlatformConversation,
  PlatformParticipant,
} from './port.js';

type Obj = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function objs(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter((x): x is Obj => !!x && typeof x === 'object') : [];
}

export function strMap(v: unknown): Record<string, string> | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

function strArray(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

function errorInfoOf(v: unknown): PlatformParticipant['errorInfo'] {
  if (!v || typeof v !== 'object') return undefined;
  const e = v as { code?: unknown; message?: unknown };
  const out = compact({ code: str(e.code), message: str(e.message) });
  return Object.keys(out).length > 0 ? out : undefined;
}

export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

const codeOf = (w: unknown) => str((w as { code?: unknown } | undefined)?.code);
const nameOf = (w: unknown) => str((w as { name?: unknown } | undefined)?.name);
const idOf = (r: unknown) => str((r as { id?: unknown } | undefined)?.id);

/** CallbackConversation (GET …/conversations/callbacks/{id}) or a queue callback event body. */
export function fromCallbackConversation(
  body: unknown,
  fallbackId: string,
  source: Extract<ConversationSource, 'callback' | 'event'> = 'callback',
): PlatformConversation {
  const b = (body ?? {}) as { id?: unknown; participants?: unknown };
  return {
    id: str(b.id) ?? fallbackId,
    source,
    participants: objs(b.participants).map((p) =>
      compact<PlatformParticipant>({
        id: str(p.id),
        purpose: str(p.purpose),
        state: str(p.state),
        disconnectType: str(p.disconnectType),
        callbackNumbers: strArray(p.callbackNumbers),
        callbackScheduledTime: str(p.callbackScheduledTime),
        attributes: strMap(p.attributes),
        queueId: idOf(p.queue),
        startTime: str(p.startTime),
        connectedTime: str(p.connectedTime),
        endTime: str(p.endTime),
        wrapupCode: codeOf(p.wrapup),
        wrapupName: nameOf(p.wrapup),
        errorInfo: errorInfoOf(p.errorInfo),
        wrapupRequired: typeof p.wrapupRequired === 'boolean' ? p.wrapupRequired : undefined,
      }),
    ),
  };
}

/** Conversation (GET /api/v2/conversations/{id}): callback media flattened, voice legs in calls. */
export function fromConversation(body: unknown, fallbackId: string): PlatformConversation {
  const b = (body ?? {}) as { id?: unknown; participants?: unknown };
  return {
    id: str(b.id) ?? fallbackId,
    source: 'conversation',
    participants: objs(b.participants).map((p) => {
      const callbacks = objs(p.callbacks);
      const cb = callbacks[0];
      const calls = objs(p.calls).map((c) =>
        compact<PlatformCallLeg>({
          id: str(c.id),
          state: str(c.state),
          direction: str(c.direction),
          // A participant that holds only this leg started when the leg did.
          startTime: str(c.startAlertingTime) ?? (callbacks.length === 0 ? str(p.startTime) : undefined),
          connectedTime: str(c.connectedTime),
          disconnectedTime: str(c.disconnectedTime),
          disconnectType: str(c.disconnectType),
          errorInfo: errorInfoOf(c.errorInfo),
        }),
      );
      const wrapupOf = [p.wrapup, ...[...callbacks, ...objs(p.calls)].map((m) => m.wrapup)].find(
        (w) => codeOf(w) !== undefined,
      );
      return compact<PlatformParticipant>({
        id: str(p.id),
        purpose: str(p.purpose),
        callbackMedia: cb !== undefined,
        state: str(cb?.state),
        disconnectType: str(cb?.disconnectType),
        callbackNumbers: strArray(cb?.callbackNumbers),
        callbackScheduledTime: str(cb?.callbackScheduledTime),
        attributes: strMap(p.attributes),
        queueId: str(p.queueId),
        startTime: str(p.startTime),
        connectedTime: str(cb?.connectedTime) ?? (cb === undefined ? str(p.connectedTime) : undefined),
        endTime: cb ? (str(cb.disconnectedTime) ?? str(p.endTime)) : str(p.endTime),
        wrapupCode: codeOf(wrapupOf),
        wrapupName: nameOf(wrapupOf),
        wrapupRequired: typeof p.wrapupRequired === 'boolean' ? p.wrapupRequired : undefined,
        calls: calls.length > 0 ? calls : undefined,
      });
    }),
  };
}

/**
 * Analytics conversation details → PlatformConversation, as far as analytics tells: a participant's
 * callback session gives its callback media (ended when the session's last segment has an end, or
 * the conversation has), each voice session a call leg (connected at its `interact` segment, ended
 * with its last segment's disconnectType), a `wrapup` segment the wrap-up code. Attributes only
 * when the answer carries them (the "WithoutAttributes" model does not).
 */
export function fromAnalyticsConversation(raw: unknown): PlatformConversation | undefined {
  const c = (raw ?? {}) as Obj;
  const id = str(c.conversationId);
  if (!id) return undefined;
  const conversationEnd = str(c.conversationEnd);
  return {
    id,
    source: 'analytics',
    ...(str(c.conversationStart) ? { startTime: str(c.conversationStart) } : {}),
    participants: objs(c.participants).map((p) => {
      const sessions = objs(p.sessions);
      const segmentsOf = (s: Obj) => objs(s.segments);
      const cb = sessions.find((s) => s.mediaType === 'callback');
      const cbSegments = cb ? segmentsOf(cb) : [];
      const cbLast = cbSegments.at(-1);
      const calls = sessions
        .filter((s) => s.mediaType === 'voice')
        .map((s) => {
          const segs = segmentsOf(s);
          const last = segs.at(-1);
          const ended = last?.disconnectType !== undefined || conversationEnd !== undefined;
          return compact<PlatformCallLeg>({
            id: str(s.sessionId),
            direction: str(s.direction),
            state: ended ? 'disconnected' : undefined,
            startTime: str(segs[0]?.segmentStart),
            connectedTime: str(segs.find((g) => g.segmentType === 'interact')?.segmentStart),
            disconnectedTime: ended ? (str(last?.segmentEnd) ?? conversationEnd) : undefined,
            disconnectType: str(last?.disconnectType),
            errorInfo: str(last?.errorCode) ? { code: str(last?.errorCode) } : undefined,
          });
        });
      const allSegments = sessions.flatMap(segmentsOf);
      const cbEnded = cbLast?.disconnectType !== undefined || conversationEnd !== undefined;
      return compact<PlatformParticipant>({
        id: str(p.participantId),
        purpose: str(p.purpose),
        callbackMedia: cb !== undefined,
        state: cb && cbEnded ? 'disconnected' : undefined,
        disconnectType: str(cbLast?.disconnectType),
        callbackNumbers: strArray(cb?.callbackNumbers),
        callbackScheduledTime: str(cb?.callbackScheduledTime),
        attributes: strMap(p.attributes),
        queueId: str(cbLast?.queueId) ?? str(allSegments.find((g) => g.queueId !== undefined)?.queueId),
        startTime: str(cbSegments[0]?.segmentStart ?? allSegments[0]?.segmentStart),
        connectedTime: str(cbSegments.find((g) => g.segmentType === 'interact')?.segmentStart),
        endTime: cb && cbEnded ? (str(cbLast?.segmentEnd) ?? conversationEnd) : undefined,
        wrapupCode: str(allSegments.find((g) => typeof g.wrapUpCode === 'string')?.wrapUpCode),
        errorInfo: str(cbLast?.errorCode) ? { code: str(cbLast?.errorCode) } : undefined,
        calls: calls.length > 0 ? calls : undefined,
      });
    }),
  };
}

/** One row of the participant-attributes search: the conversation and each participant's attributes. */
export interface AttributeSearchRow {
  conversationId: string;
  startTime?: string;
  /** Every participant's attributes (participantData[].participantAttributes). */
  attributes: Record<string, string>[];
}

export function fromAttributeSearchRow(raw: unknown): AttributeSearchRow | undefined {
  const r = (raw ?? {}) as Obj;
  const conversationId = str(r.conversationId);
  if (!conversationId) return undefined;
  return compact<AttributeSearchRow>({
    conversationId,
    startTime: str(r.startTime),
    attributes: objs(r.participantData).flatMap((d) => {
      const a = strMap(d.participantAttributes);
      return a ? [a] : [];
    }),
  });
}
