/**
 * callbackd's request → the platform's request bodies. Typed against the official SDK's models
 * with `satisfies`, so a misspelt or invented field fails the typecheck instead of being silently
 * dropped by the platform.
 */
import type { Models } from 'purecloud-platform-client-v2';
import type { CallbackSpec } from '../domain/types.js';
import type { CreateCallbackOptions } from './port.js';

/**
 * Names of the `data` attributes callbackd puts on every callback. They show up as participant
 * attributes; the queue's flow (and the simulator) reads dtmf and timeoutSeconds, callbackd finds
 * its own callbacks again by callbackId (+ tenantId).
 */
export const ATTR = {
  callbackId: 'callbackId',
  tenantId: 'callbackdTenant',
  externalId: 'externalId',
  wrapUpCode: 'wrapUpCode',
  dtmf: 'dtmf',
  callbackTo: 'callbackTo',
  timeoutSeconds: 'timeoutSeconds',
  /** Re-attempts only (2, 3, …): tells a callback's platform attempts apart; absent = the first. */
  attempt: 'callbackdAttempt',
} as const;

export type CreateOptions = Pick<CreateCallbackOptions, 'queueId' | 'tenantId' | 'attempt'>;

export function customerName(spec: CallbackSpec): string | undefined {
  const name = [spec.customerData.firstName, spec.customerData.lastName]
    .map((s) => s?.trim())
    .filter((s): s is string => !!s)
    .join(' ');
  return name === '' ? undefined : name;
}

export function callbackData(spec: CallbackSpec, opts: CreateOptions = {}): Record<string, string> {
  const data: Record<string, string> = {
    [ATTR.callbackId]: spec.callbackId,
    [ATTR.callbackTo]: spec.callbackTo,
    [ATTR.timeoutSeconds]: String(spec.timeout),
  };
  if (opts.tenantId !== undefined) data[ATTR.tenantId] = opts.tenantId;
  if (opts.attempt !== undefined && opts.attempt > 1) data[ATTR.attempt] = String(opts.attempt);
  if (spec.customerData.externalId) data[ATTR.externalId] = spec.customerData.externalId;
  if (spec.routingData.wrapUpCode) data[ATTR.wrapUpCode] = spec.routingData.wrapUpCode;
  if (spec.dtmf) data[ATTR.dtmf] = spec.dtmf;
  return data;
}

export function toCreateCallbackCommand(
  spec: CallbackSpec,
  opts: CreateOptions = {},
): Models.CreateCallbackCommand {
  const userName = customerName(spec);
  return {
    callbackNumbers: [spec.callbackNumber],
    callerId: spec.callbackFrom,
    callbackScheduledTime: spec.scheduledTime,
    routingData: {
      queueId: opts.queueId ?? spec.routingData.queueId,
      priority: spec.routingData.priority,
    } satisfies Models.RoutingData,
    ...(userName !== undefined ? { callbackUserName: userName } : {}),
    data: callbackData(spec, opts),
  } satisfies Models.CreateCallbackCommand;
}

/**
 * Reschedule / renumber a callback that has not started. The SDK types `agentId` as required, but
 * a queue (not agent-owned) callback has no agent to name, so it is left out.
 */
export function toPatchCallbackRequest(
  conversationId: string,
  spec: CallbackSpec,
  opts: { queueId?: string } = {},
): Omit<Models.PatchCallbackRequest, 'agentId'> {
  return {
    conversationId,
    queueId: opts.queueId ?? spec.routingData.queueId,
    callbackScheduledTime: spec.scheduledTime,
    callbackNumbers: [spec.callbackNumber],
  } satisfies Omit<Models.PatchCallbackRequest, 'agentId'>;
}

/** Body that disconnects (cancels) a callback conversation. */
export const DISCONNECT_BODY = { state: 'disconnected' } satisfies Partial<Models.Conversation>;

/** What every analytics details query shares: the interval, oldest first, one page. */
function detailsQueryPage(
  fromIso: string,
  toIso: string,
  pageNumber: number,
  pageSize: number,
): Pick<Models.ConversationQuery, 'interval' | 'order' | 'orderBy' | 'paging'> {
  return {
    interval: `${fromIso}/${toIso}`,
    order: 'asc',
    orderBy: 'conversationStart',
    paging: { pageSize, pageNumber } satisfies Models.PagingSpec,
  };
}

/**
 * Analytics details query for look-up candidates: callback segments of these queues to this number.
 * Only dimension predicates: a `property` predicate matches indexed segment properties, never
 * participant attributes, so the callbackId itself cannot be a filter (GENESYS.md).
 */
export function toCallbackCandidatesQuery(
  q: { queueIds: readonly string[]; callbackNumber: string; from: number; to: number },
  pageNumber: number,
  pageSize: number,
): Models.ConversationQuery {
  const dim = (dimension: string, value: string) =>
    ({
      type: 'dimension',
      dimension,
      operator: 'matches',
      value,
    }) satisfies Models.SegmentDetailQueryPredicate;
  return {
    ...detailsQueryPage(
      new Date(q.from).toISOString(),
      new Date(Math.max(q.to, q.from + 1)).toISOString(),
      pageNumber,
      pageSize,
    ),
    segmentFilters: [
      {
        type: 'and',
        predicates: [dim('mediaType', 'callback'), dim('callbackNumber', q.callbackNumber)],
        ...(q.queueIds.length > 0
          ? {
              clauses: [
                {
                  type: 'or',
                  predicates: q.queueIds.map((id) => dim('queueId', id)),
                } satisfies Models.SegmentDetailQueryClause,
              ],
            }
          : {}),
      } satisfies Models.SegmentDetailQueryFilter,
    ],
  } satisfies Models.ConversationQuery;
}

/** Participant-attributes search over [fromIso, toIso] on startTime (the only date field it searches). */
export function toAttributeSearchRequest(
  fromIso: string,
  toIso: string,
  cursor?: string,
): Models.ConversationParticipantSearchRequest {
  return {
    query: [
      {
        type: 'DATE_RANGE',
        fields: ['startTime'],
        startValue: fromIso,
        endValue: toIso,
      } satisfies Models.ConversationParticipantSearchCriteria,
    ],
    ...(cursor !== undefined ? { cursor } : {}),
  } satisfies Models.ConversationParticipantSearchRequest;
}

export const OBSERVATION_METRICS = ['oWaiting', 'oInteracting'] as const;

/** Queue observations for callbacks waiting/interacting in the given queues. */
export function toQueueObservationQuery(queueIds: readonly string[]): Models.QueueObservationQuery {
  return {
    filter: {
      type: 'and',
      clauses: [
        {
          type: 'or',
          predicates: queueIds.map((id) => ({ type: 'dimension', dimension: 'queueId', value: id })),
        } satisfies Models.QueueObservationQueryClause,
      ],
      predicates: [{ type: 'dimension', dimension: 'mediaType', value: 'callback' }],
    } satisfies Models.QueueObservationQueryFilter,
    metrics: [...OBSERVATION_METRICS],
  } satisfies Models.QueueObservationQuery;
}

/**
 * Analytics details query: the conversations with these ids (an OR of conversationId predicates),
 * started in [fromIso, toIso). The batch read of tracking's analytics mode.
 */
export function toConversationIdsQuery(
  conversationIds: readonly string[],
  fromIso: string,
  toIso: string,
  pageNumber: number,
  pageSize: number,
): Models.ConversationQuery {
  return {
    ...detailsQueryPage(fromIso, toIso, pageNumber, pageSize),
    conversationFilters: [
      {
        type: 'or',
        predicates: conversationIds.map(
          (id) =>
            ({
              type: 'dimension',
              dimension: 'conversationId',
              operator: 'matches',
              value: id,
            }) satisfies Models.ConversationDetailQueryPredicate,
        ),
      } satisfies Models.ConversationDetailQueryFilter,
    ],
  } satisfies Models.ConversationQuery;
}
