/**
 * How a conversation shows on the wire: GET /api/v2/conversations/callbacks/{id}
 * (`CallbackConversation`: the callback media only), GET /api/v2/conversations/{id}
 * (`Conversation`: every participant with its `callbacks[]` and `calls[]`), and the
 * `v2.routing.queues.{id}.conversations.callbacks` event body (callback media, with `scheduled`).
 */
import type { ConvState, SimMedia, SimParticipant, SimWrapup } from './model.js';

type Json = Record<string, unknown>;

export interface Ref {
  id: string;
  name?: string;
  selfUri: string;
}

/** A participant as GET /api/v2/conversations/callbacks/{id} shows it (SDK CallbackMediaParticipant). */
export interface WireParticipant {
  id: string;
  name?: string;
  address?: string;
  startTime?: string;
  startAlertingTime?: string;
  connectedTime?: string;
  endTime?: string;
  purpose: 'customer' | 'acd' | 'agent';
  state: string;
  initialState?: string;
  direction: 'inbound' | 'outbound';
  disconnectType?: string;
  held: boolean;
  wrapupRequired: boolean;
  user?: Ref;
  queue?: Ref;
  attributes: Record<string, string>;
  errorInfo?: { code: string; message: string };
  provider: string;
  wrapup?: { code: string; name: string; durationSeconds: number; endTime: string };
  callbackNumbers?: string[];
  callbackUserName?: string;
  externalCampaign?: boolean;
  skipEnabled?: boolean;
  callbackScheduledTime?: string;
}

export interface WireConversation {
  id: string;
  participants: WireParticipant[];
  otherMediaUris: string[];
  divisions: { division: Ref; entities: Ref[] }[];
  selfUri: string;
}

export interface ViewContext {
  divisionId: string;
  queueName: (queueId: string) => string;
}

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

function compact<T extends Json>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** REST state of a medium: `scheduled` exists only in event models [SDK]; REST shows `none`. */
const restState = (s: string): string => (s === 'scheduled' ? 'none' : s);

/** An agent owes a wrap-up until it has one; an agent whose callback the flow ended without a
 *  wrap-up code owes none (the simulator models no ACW timeout). */
function wrapupRequired(p: SimParticipant): boolean {
  if (p.purpose !== 'agent') return false;
  return p.wrapup !== undefined || p.callback?.state !== 'disconnected';
}

function queueRef(ctx: ViewContext, queueId: string): Ref {
  return { id: queueId, name: ctx.queueName(queueId), selfUri: `/api/v2/routing/queues/${queueId}` };
}

function wrapupJson(w: SimWrapup | undefined): WireParticipant['wrapup'] {
  return w
    ? { code: w.code, name: w.name, durationSeconds: w.durationSeconds, endTime: iso(w.endMs)! }
    : undefined;
}

function divisions(ctx: ViewContext): WireConversation['divisions'] {
  const division = {
    id: ctx.divisionId,
    name: 'Home',
    selfUri: `/api/v2/authorization/divisions/${ctx.divisionId}`,
  };
  return [{ division, entities: [] }];
}

function callbackParticipant(
  ctx: ViewContext,
  conv: ConvState,
  p: SimParticipant,
  m: SimMedia,
  event: boolean,
): WireParticipant {
  const out: WireParticipant = compact({
    id: p.id,
    name: p.name,
    address: p.address,
    startTime: iso(p.startMs),
    startAlertingTime: iso(m.alertingMs),
    connectedTime: iso(m.connectedMs),
    endTime: iso(m.endMs),
    purpose: p.purpose,
    state: event ? m.state : restState(m.state),
    initialState: event ? m.initialState : undefined,
    direction: m.direction,
    disconnectType: m.disconnectType,
    held: false,
    wrapupRequired: wrapupRequired(p),
    user: p.user ? { id: p.user.id, name: p.user.name, selfUri: `/api/v2/users/${p.user.id}` } : undefined,
    queue: queueRef(ctx, p.queueId),
    attributes: { ...p.attributes },
    errorInfo: m.errorInfo,
    provider: 'PureCloud',
    wrapup: wrapupJson(p.wrapup),
  });
  if (p === conv.participants[0]) {
    out.callbackNumbers = [...conv.callbackNumbers];
    if (conv.callbackUserName !== undefined) out.callbackUserName = conv.callbackUserName;
    out.externalCampaign = false;
    out.skipEnabled = false;
    out.callbackScheduledTime = iso(conv.scheduledMs)!;
  }
  return out;
}

function callbackView(ctx: ViewContext, conv: ConvState, event: boolean): WireConversation {
  const participants = conv.participants.flatMap((p) =>
    p.callback ? [callbackParticipant(ctx, conv, p, p.callback, event)] : [],
  );
  return {
    id: conv.id,
    participants,
    otherMediaUris: [],
    divisions: divisions(ctx),
    selfUri: `/api/v2/conversations/callbacks/${conv.id}`,
  };
}

/** GET /api/v2/conversations/callbacks/{id}: `CallbackConversation`, the callback media only. */
export function callbackConversation(ctx: ViewContext, conv: ConvState): WireConversation {
  return callbackView(ctx, conv, false);
}

/** The event body of `v2.routing.queues.{id}.conversations.callbacks` (with `scheduled`, `initialState`). */
export function callbackEvent(ctx: ViewContext, conv: ConvState): WireConversation {
  const v = callbackView(ctx, conv, true);
  const { selfUri: _selfUri, ...rest } = v;
  return rest as WireConversation;
}

const tel = (n: string | undefined): Json | undefined =>
  n === undefined ? undefined : { addressNormalized: `tel:${n}`, addressRaw: n, addressDisplayable: n };

function callJson(m: SimMedia, p: SimParticipant, conv: ConvState): Json {
  return compact({
    state: m.state,
    initialState: m.initialState,
    id: m.id,
    direction: m.direction,
    recording: false,
    recordingState: 'none',
    muted: false,
    confined: false,
    held: false,
    disconnectType: m.disconnectType,
    errorInfo: m.errorInfo,
    startAlertingTime: iso(m.alertingMs ?? m.startMs),
    connectedTime: iso(m.connectedMs),
    disconnectedTime: iso(m.endMs),
    disconnectReasons: m.disconnectReasons,
    provider: 'Edge',
    self: p.purpose === 'agent' ? tel(conv.callerId) : tel(m.address),
    other: p.purpose === 'agent' ? tel(m.address) : tel(conv.callerId),
  });
}

function callbackJson(m: SimMedia, p: SimParticipant, conv: ConvState): Json {
  const first = p === conv.participants[0];
  return compact({
    state: restState(m.state),
    initialState: restState(m.initialState),
    id: m.id,
    direction: m.direction,
    held: false,
    disconnectType: m.disconnectType,
    callbackNumbers: first ? [...conv.callbackNumbers] : undefined,
    callbackUserName: first ? conv.callbackUserName : undefined,
    externalCampaign: false,
    skipEnabled: false,
    startAlertingTime: iso(m.alertingMs),
    connectedTime: iso(m.connectedMs),
    disconnectedTime: iso(m.endMs),
    callbackScheduledTime: first ? iso(conv.scheduledMs) : undefined,
    provider: 'PureCloud',
    callerId: conv.callerId,
    callerIdName: conv.callerIdName,
  });
}

function participantEnd(p: SimParticipant): number | undefined {
  const all = [p.callback, ...p.calls].filter((m): m is SimMedia => m !== undefined);
  if (all.some((m) => m.endMs === undefined)) return undefined;
  return Math.max(...all.map((m) => m.endMs!));
}

/** Whether every medium of the conversation has ended, and when the last one did. */
export function conversationEnd(conv: ConvState): number | undefined {
  let end = 0;
  for (const p of conv.participants) {
    const e = participantEnd(p);
    if (e === undefined) return undefined;
    end = Math.max(end, e);
  }
  return end;
}

/** GET /api/v2/conversations/{id}: `Conversation`, every participant with all its media and wrap-up. */
export function fullConversation(ctx: ViewContext, conv: ConvState): Json {
  const end = conversationEnd(conv);
  const participants = conv.participants.map((p) => {
    const connected = [p.callback, ...p.calls]
      .map((m) => m?.connectedMs)
      .filter((t): t is number => t !== undefined);
    return compact({
      id: p.id,
      startTime: iso(p.startMs),
      endTime: iso(participantEnd(p)),
      connectedTime: iso(connected.length > 0 ? Math.min(...connected) : undefined),
      name: p.name,
      userId: p.user?.id,
      queueId: p.queueId,
      queueName: ctx.queueName(p.queueId),
      purpose: p.purpose,
      address: p.address,
      wrapupRequired: wrapupRequired(p),
      wrapup: p.wrapup ? compact({ ...wrapupJson(p.wrapup)! }) : undefined,
      attributes: { ...p.attributes },
      callbacks: p.callback ? [callbackJson(p.callback, p, conv)] : [],
      calls: p.calls.map((m) => callJson(m, p, conv)),
    });
  });
  return compact({
    id: conv.id,
    startTime: iso(conv.createdMs)!,
    endTime: iso(end),
    participants,
    recordingState: 'none',
    state: end === undefined ? 'connected' : 'disconnected',
    divisions: divisions(ctx),
    selfUri: `/api/v2/conversations/${conv.id}`,
  });
}
