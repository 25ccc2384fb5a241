/** The callback endpoints: create, read, reschedule, disconnect (one and bulk). */
import { ApiError, badRequest, invalidValue } from '../errors.js';
import type { SimConversation } from '../model.js';
import { parseCreateCallback, parsePatchCallback, requireObject } from '../validate.js';
import { callbackConversation, fullConversation } from '../views.js';
import {
  ID,
  type Json,
  ok,
  type Reply,
  type RequestCtx,
  type Route,
  route,
  type SimContext,
} from './http.js';

const CB = '/api/v2/conversations/callbacks';

export function findConversation(ctx: SimContext, id: string): SimConversation {
  const conv = ctx.platform.conversations.get(id);
  if (!conv)
    throw new ApiError(404, 'not.found', `Conversation ${id} was not found.`, { conversationId: id });
  return conv;
}

function createAnswer(conv: SimConversation): Json {
  return {
    conversation: { id: conv.id, selfUri: `/api/v2/conversations/${conv.id}` },
    callbackIdentifiers: [{ type: 'ACD', id: conv.callbackIdentifier }],
  };
}

export function callbackRoutes(ctx: SimContext): Route[] {
  const { platform } = ctx;
  return [
    route('POST', `${CB}/bulk/disconnect`, 'bulkDisconnect', (c) => bulkDisconnect(ctx, c)),
    route('POST', CB, 'createCallback', (c) => {
      const input = parseCreateCallback(c.json());
      return ok(createAnswer(platform.createCallback(input)));
    }),
    route('GET', CB, 'listCallbacks', () => {
      throw badRequest(
        "This request lists the calling user's callbacks and needs a user context; client credentials have none.",
      );
    }),
    route('PATCH', CB, 'rescheduleCallback', (c) => {
      const input = parsePatchCallback(c.json());
      return ok(createAnswer(platform.reschedule(input)));
    }),
    route('GET', `${CB}/${ID}`, 'getCallback', (c) =>
      ok(callbackConversation(ctx.views, findConversation(ctx, c.params[0]!))),
    ),
    route('GET', `/api/v2/conversations/${ID}`, 'getConversation', (c) =>
      ok(fullConversation(ctx.views, findConversation(ctx, c.params[0]!))),
    ),
    route('PATCH', `${CB}/${ID}`, 'disconnectCallback', (c) => disconnectOne(ctx, c)),
  ];
}

function disconnectOne(ctx: SimContext, c: RequestCtx): Reply {
  const id = c.params[0]!;
  const body = requireObject(c.json(), 'Conversation');
  if (body['state'] !== 'disconnected') {
    throw invalidValue('state', 'Only {"state": "disconnected"} is supported on a callback conversation.');
  }
  const conv = ctx.platform.disconnect(findConversation(ctx, id).id);
  const wire = callbackConversation(ctx.views, conv);
  return ok({
    id: conv.id,
    startTime: new Date(conv.createdMs).toISOString(),
    endTime: wire.participants[0]?.endTime,
    participants: wire.participants.map((p) => ({
      id: p.id,
      startTime: p.startTime,
      endTime: p.endTime,
      connectedTime: p.connectedTime,
      name: p.name,
      queueId: p.queue?.id,
      queueName: p.queue?.name,
      userId: p.user?.id,
      purpose: p.purpose,
      address: p.address,
      wrapupRequired: p.wrapupRequired,
      attributes: p.attributes,
    })),
    recordingState: 'none',
    state: 'disconnected',
    selfUri: `/api/v2/conversations/${conv.id}`,
  });
}

function bulkDisconnect(ctx: SimContext, c: RequestCtx): Reply {
  const body = requireObject(c.json(), 'BulkCallbackDisconnectRequest');
  const ids = body['callbackDisconnectIdentifiers'];
  if (!Array.isArray(ids) || ids.length === 0) {
    throw new ApiError(400, 'bad.request', 'callbackDisconnectIdentifiers must be a non-empty array.', {
      field: 'callbackDisconnectIdentifiers',
    });
  }
  if (ids.length > 100) {
    throw invalidValue('callbackDisconnectIdentifiers', 'At most 100 callbacks per bulk disconnect.');
  }
  const targets = ids.map((raw, i) => {
    const item = raw as Json | null;
    const convId = item && typeof item === 'object' ? item['conversationId'] : undefined;
    const cbId = item && typeof item === 'object' ? item['callbackId'] : undefined;
    if (typeof convId !== 'string' || typeof cbId !== 'string') {
      throw invalidValue(
        `callbackDisconnectIdentifiers[${i}]`,
        `callbackDisconnectIdentifiers[${i}] needs conversationId and callbackId strings.`,
      );
    }
    return { convId, cbId };
  });
  // Unknown or already ended callbacks are skipped: the bulk call is fire-and-forget (202).
  for (const t of targets) {
    const conv = ctx.platform.conversations.get(t.convId);
    if (conv && conv.callbackIdentifier === t.cbId && conv.phase !== 'ended')
      ctx.platform.disconnect(conv.id);
  }
  return { status: 202 };
}
