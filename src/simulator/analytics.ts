/**
 * The analytics queries. Conversation details are served from snapshots at least `lagMs` old
 * (the platform's analytics lag), as `AnalyticsConversationWithoutAttributes`: sessions
 * (`callback` and `voice`), segments and metrics, never participant attributes. A `property`
 * predicate matches only segment properties indexed through POST
 * /api/v2/analytics/conversations/{id}/details/properties. Queue observations are live.
 */
import { ApiError, badRequest, invalidValue } from './errors.js';
import type { ConvState, Platform, SimConversation, SimMedia, SimParticipant } from './model.js';
import { parseInstant, requireObject } from './validate.js';
import { conversationEnd } from './views.js';

type Json = Record<string, unknown>;

interface Predicate {
  type: string;
  dimension?: string;
  property?: string;
  propertyType?: string;
  operator: string;
  value?: string;
}

interface Filter {
  type: 'and' | 'or';
  predicates: Predicate[];
  clauses: { type: 'and' | 'or'; predicates: Predicate[] }[];
}

const OPERATORS = ['matches', 'exists', 'notExists'];

function parsePredicate(raw: unknown, path: string, allowProperty: boolean): Predicate {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidValue(path, `${path} must be an object.`);
  }
  const p = raw as Json;
  const type = p['type'] ?? 'dimension';
  if (type === 'metric') {
    throw new ApiError(400, 'bad.request', `${path}: metric predicates are not modelled by the simulator.`, {
      field: path,
    });
  }
  if (type !== 'dimension' && !(allowProperty && type === 'property')) {
    throw invalidValue(
      `${path}.type`,
      `${path}.type must be dimension${allowProperty ? ' or property' : ''}.`,
    );
  }
  const operator = p['operator'] ?? 'matches';
  if (typeof operator !== 'string' || !OPERATORS.includes(operator)) {
    throw invalidValue(`${path}.operator`, `${path}.operator must be one of ${OPERATORS.join(', ')}.`);
  }
  const out: Predicate = { type, operator };
  if (type === 'dimension') {
    if (typeof p['dimension'] !== 'string' || p['dimension'] === '') {
      throw invalidValue(`${path}.dimension`, `${path}.dimension is required for a dimension predicate.`);
    }
    out.dimension = p['dimension'];
  } else {
    if (typeof p['property'] !== 'string' || p['property'] === '') {
      throw invalidValue(`${path}.property`, `${path}.property is required for a property predicate.`);
    }
    out.property = p['property'];
    const pt = p['propertyType'];
    if (pt !== undefined && typeof pt !== 'string') {
      throw invalidValue(`${path}.propertyType`, `${path}.propertyType must be a string.`);
    }
    if (pt !== undefined) out.propertyType = pt;
  }
  if (operator === 'matches') {
    if (typeof p['value'] !== 'string') {
      throw invalidValue(`${path}.value`, `${path}.value must be a string for the matches operator.`);
    }
    out.value = p['value'];
  }
  return out;
}

function parseFilter(raw: unknown, path: string, allowProperty: boolean): Filter {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidValue(path, `${path} must be an object {type, predicates, clauses}.`);
  }
  const f = raw as Json;
  if (f['type'] !== 'and' && f['type'] !== 'or') {
    throw invalidValue(`${path}.type`, `${path}.type must be "and" or "or".`);
  }
  const preds = f['predicates'] ?? [];
  const clauses = f['clauses'] ?? [];
  if (!Array.isArray(preds)) throw invalidValue(`${path}.predicates`, `${path}.predicates must be an array.`);
  if (!Array.isArray(clauses)) throw invalidValue(`${path}.clauses`, `${path}.clauses must be an array.`);
  if (preds.length === 0 && clauses.length === 0) {
    throw invalidValue(path, `${path} needs at least one predicate or clause.`);
  }
  return {
    type: f['type'],
    predicates: preds.map((p, i) => parsePredicate(p, `${path}.predicates[${i}]`, allowProperty)),
    clauses: clauses.map((c, i) => {
      const cp = `${path}.clauses[${i}]`;
      if (c === null || typeof c !== 'object' || Array.isArray(c))
        throw invalidValue(cp, `${cp} must be an object.`);
      const cc = c as Json;
      if (cc['type'] !== 'and' && cc['type'] !== 'or') {
        throw invalidValue(`${cp}.type`, `${cp}.type must be "and" or "or".`);
      }
      if (!Array.isArray(cc['predicates']) || cc['predicates'].length === 0) {
        throw invalidValue(`${cp}.predicates`, `${cp}.predicates must be a non-empty array.`);
      }
      return {
        type: cc['type'],
        predicates: cc['predicates'].map((p, j) =>
          parsePredicate(p, `${cp}.predicates[${j}]`, allowProperty),
        ),
      };
    }),
  };
}

interface Row {
  fields: Record<string, string | string[] | undefined>;
  properties: Record<string, string>;
}

function predicateHolds(p: Predicate, row: Row): boolean {
  const actual = p.type === 'property' ? row.properties[p.property!] : row.fields[p.dimension!];
  if (p.operator === 'exists') return actual !== undefined;
  if (p.operator === 'notExists') return actual === undefined;
  if (actual === undefined) return false;
  return Array.isArray(actual) ? actual.includes(p.value!) : actual === p.value;
}

function filterHolds(f: Filter, row: Row): boolean {
  const parts: boolean[] = [
    ...f.predicates.map((p) => predicateHolds(p, row)),
    ...f.clauses.map((c) =>
      c.type === 'and'
        ? c.predicates.every((p) => predicateHolds(p, row))
        : c.predicates.some((p) => predicateHolds(p, row)),
    ),
  ];
  return f.type === 'and' ? parts.every(Boolean) : parts.some(Boolean);
}

// ---- conversation details --------------------------------------------------------------------

export const DAY_MS = 86_400_000;
/** The details query's interval limits [doc]. */
export const MAX_DAYS_WITHOUT_FILTERS = 7;
export const MAX_DAYS_WITH_FILTERS = 31;
/** Paging stops here [doc]. */
export const MAX_RESULTS = 100_000;

interface Segment {
  segmentStart: string;
  segmentEnd?: string;
  segmentType: string;
  queueId?: string;
  disconnectType?: string;
  wrapUpCode?: string;
  q850ResponseCodes?: number[];
  sipResponseCodes?: number[];
  properties?: { property: string; propertyType: string; value: string }[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

function span(type: string, from: number, to: number | undefined): Segment {
  const s: Segment = { segmentStart: iso(from), segmentType: type };
  if (to !== undefined) s.segmentEnd = iso(to);
  return s;
}

/** Segments of one medium: a callback or a call leg, by purpose. */
function segmentsOf(p: SimParticipant, m: SimMedia, isCall: boolean, isCallbackCustomer: boolean): Segment[] {
  const segs: Segment[] = [];
  if (isCall) {
    // A call leg: dialing (customer) or contacting (agent, waiting for the customer), then interact.
    const first = p.purpose === 'agent' ? 'contacting' : 'dialing';
    segs.push(span(first, m.startMs, m.connectedMs ?? m.endMs));
    if (m.connectedMs !== undefined) segs.push(span('interact', m.connectedMs, m.endMs));
  } else if (p.purpose === 'agent') {
    segs.push(span('alert', m.alertingMs ?? m.startMs, m.connectedMs ?? m.endMs));
    if (m.connectedMs !== undefined) segs.push(span('interact', m.connectedMs, m.endMs));
  } else if (isCallbackCustomer) {
    segs.push(span('scheduled', m.startMs, m.connectedMs ?? m.endMs));
    if (m.connectedMs !== undefined) segs.push(span('interact', m.connectedMs, m.endMs));
  } else {
    segs.push(span('interact', m.startMs, m.endMs));
  }
  const last = segs[segs.length - 1]!;
  if (m.state === 'disconnected' && m.disconnectType) last.disconnectType = m.disconnectType;
  const q850 = m.disconnectReasons?.filter((r) => r.type === 'q850').map((r) => r.code);
  const sip = m.disconnectReasons?.filter((r) => r.type === 'sip').map((r) => r.code);
  if (q850 && q850.length > 0) last.q850ResponseCodes = q850;
  if (sip && sip.length > 0) last.sipResponseCodes = sip;
  if (!isCall && p.wrapup && m.endMs !== undefined) {
    segs.push({ ...span('wrapup', m.endMs, p.wrapup.endMs), wrapUpCode: p.wrapup.code });
  }
  for (const s of segs) s.queueId = p.queueId;
  return segs;
}

interface AnalyticsView {
  json: Json;
  conversationStartMs: number;
  rows: Row[];
  conversationRow: Row;
}

type PropertyIndex = SimConversation['properties'];

function analyticsView(conv: ConvState, properties: PropertyIndex, divisionId: string): AnalyticsView {
  const endMs = conversationEnd(conv);
  const rows: Row[] = [];
  const callbackCustomer = conv.participants[0];
  const participants = conv.participants.map((p) => {
    const media: [SimMedia, boolean][] = [
      ...(p.callback ? [[p.callback, false] as [SimMedia, boolean]] : []),
      ...p.calls.map((c) => [c, true] as [SimMedia, boolean]),
    ];
    const sessions = media.map(([m, isCall]) => {
      const segments = segmentsOf(p, m, isCall, p === callbackCustomer);
      const props = properties.get(m.id);
      if (props && props.length > 0) for (const s of segments) s.properties = props.map((x) => ({ ...x }));
      const session: Json = {
        sessionId: m.id,
        mediaType: isCall ? 'voice' : 'callback',
        direction: m.direction,
        segments,
      };
      if (!isCall && p === callbackCustomer) {
        session['callbackNumbers'] = [...conv.callbackNumbers];
        session['callbackScheduledTime'] = iso(conv.scheduledMs);
        if (conv.callbackUserName !== undefined) session['callbackUserName'] = conv.callbackUserName;
      }
      if (isCall && m.address) {
        session['dnis'] = `tel:${m.address}`;
        session['addressTo'] = `tel:${m.address}`;
        if (conv.callerId) session['addressFrom'] = `tel:${conv.callerId}`;
      }
      if (isCall && p.purpose === 'agent' && m.connectedMs !== undefined && m.endMs !== undefined) {
        session['metrics'] = [{ name: 'tTalk', value: m.endMs - m.connectedMs, emitDate: iso(m.endMs) }];
      }
      for (const seg of segments) {
        rows.push({
          fields: {
            conversationId: conv.id,
            purpose: p.purpose,
            participantId: p.id,
            participantName: p.name,
            userId: p.user?.id,
            mediaType: session['mediaType'] as string,
            direction: m.direction,
            sessionId: m.id,
            segmentType: seg.segmentType,
            queueId: seg.queueId,
            disconnectType: seg.disconnectType,
            wrapUpCode: seg.wrapUpCode,
            callbackNumber: session['callbackNumbers'] as string[] | undefined,
            callbackScheduledTime: session['callbackScheduledTime'] as string | undefined,
            dnis: session['dnis'] as string | undefined,
            addressTo: session['addressTo'] as string | undefined,
          },
          properties: Object.fromEntries((seg.properties ?? []).map((x) => [x.property, x.value])),
        });
      }
      return session;
    });
    const part: Json = { participantId: p.id, participantName: p.name, purpose: p.purpose, sessions };
    if (p.user) part['userId'] = p.user.id;
    return part;
  });
  const json: Json = {
    conversationId: conv.id,
    conversationStart: iso(conv.createdMs),
    originatingDirection: 'outbound',
    divisionIds: [divisionId],
    participants,
  };
  if (endMs !== undefined) json['conversationEnd'] = iso(endMs);
  return {
    json,
    conversationStartMs: conv.createdMs,
    rows,
    conversationRow: {
      fields: {
        conversationId: conv.id,
        originatingDirection: 'outbound',
        divisionId,
        conversationEnd: endMs === undefined ? undefined : iso(endMs),
        conversationStart: json['conversationStart'] as string,
      },
      properties: {},
    },
  };
}

/** The conversation as analytics had it `lagMs` ago; undefined while it is not visible yet. */
function visibleView(
  platform: Platform,
  conv: SimConversation,
  nowMs: number,
  lagMs: number,
): AnalyticsView | undefined {
  const visibleUpTo = nowMs - lagMs;
  let state: ConvState | undefined;
  for (const v of conv.versions) {
    if (v.atMs <= visibleUpTo) state = v.state;
    else break;
  }
  return state ? analyticsView(state, conv.properties, platform.org.divisionId) : undefined;
}

function tooLong(message: string): ApiError {
  return new ApiError(400, 'bad.request', message, { field: 'interval' });
}

export function conversationDetailsQuery(
  platform: Platform,
  raw: unknown,
  nowMs: number,
  lagMs: number,
): Json {
  const body = requireObject(raw, 'ConversationQuery');
  const interval = body['interval'];
  if (typeof interval !== 'string') {
    throw new ApiError(
      400,
      'bad.request',
      'interval is required, e.g. 2024-06-15T00:00:00.000Z/2024-06-16T00:00:00.000Z.',
      { field: 'interval' },
    );
  }
  const [startRaw, endRaw, extra] = interval.split('/');
  if (startRaw === undefined || endRaw === undefined || extra !== undefined) {
    throw invalidValue('interval', 'interval must be two ISO-8601 instants separated by "/".');
  }
  const start = parseInstant(startRaw, 'interval');
  const end = parseInstant(endRaw, 'interval');
  if (end <= start) throw invalidValue('interval', 'interval must end after it starts.');

  const segmentFilters = body['segmentFilters'] ?? [];
  const conversationFilters = body['conversationFilters'] ?? [];
  if (!Array.isArray(segmentFilters))
    throw invalidValue('segmentFilters', 'segmentFilters must be an array.');
  if (!Array.isArray(conversationFilters)) {
    throw invalidValue('conversationFilters', 'conversationFilters must be an array.');
  }
  const segF = segmentFilters.map((f, i) => parseFilter(f, `segmentFilters[${i}]`, true));
  const convF = conversationFilters.map((f, i) => parseFilter(f, `conversationFilters[${i}]`, false));
  const filtered = segF.length + convF.length > 0;
  const maxDays = filtered ? MAX_DAYS_WITH_FILTERS : MAX_DAYS_WITHOUT_FILTERS;
  if (end - start > maxDays * DAY_MS) {
    throw tooLong(
      `The interval spans more than ${maxDays} days; a details query may span at most ${MAX_DAYS_WITHOUT_FILTERS} days without filters and ${MAX_DAYS_WITH_FILTERS} days with filters.`,
    );
  }

  let pageSize = 25;
  let pageNumber = 1;
  if (body['paging'] !== undefined && body['paging'] !== null) {
    const paging = requireObject(body['paging'], 'paging') as Json;
    const ps = paging['pageSize'] ?? 25;
    const pn = paging['pageNumber'] ?? 1;
    if (typeof ps !== 'number' || !Number.isInteger(ps) || ps < 1 || ps > 100) {
      throw invalidValue('paging.pageSize', 'paging.pageSize must be an integer from 1 to 100.');
    }
    if (typeof pn !== 'number' || !Number.isInteger(pn) || pn < 1) {
      throw invalidValue('paging.pageNumber', 'paging.pageNumber must be an integer of at least 1.');
    }
    pageSize = ps;
    pageNumber = pn;
  }
  if (pageNumber * pageSize > MAX_RESULTS) {
    throw invalidValue(
      'paging',
      `Paging stops at ${MAX_RESULTS} results; narrow the interval or the filters instead of paging further.`,
    );
  }
  const order = body['order'] ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw invalidValue('order', 'order must be "asc" or "desc".');
  const orderBy = body['orderBy'] ?? 'conversationStart';
  if (orderBy !== 'conversationStart') {
    throw invalidValue('orderBy', 'The simulator orders only by conversationStart.');
  }
  for (const f of ['evaluationFilters', 'surveyFilters', 'resolutionFilters', 'aggregations']) {
    const v = body[f];
    if (v !== undefined && v !== null && (!Array.isArray(v) || v.length > 0)) {
      throw badRequest(`${f} are not modelled by the simulator.`, { field: f });
    }
  }

  // Matches conversations that started on any UTC day the interval touches, not only inside it.
  const fromDay = Math.floor(start / DAY_MS) * DAY_MS;
  const toDay = Math.floor((end - 1) / DAY_MS) * DAY_MS + DAY_MS;
  const matches: AnalyticsView[] = [];
  for (const conv of platform.conversations.values()) {
    if (conv.createdMs < fromDay || conv.createdMs >= toDay) continue;
    const view = visibleView(platform, conv, nowMs, lagMs);
    if (!view) continue;
    if (!convF.every((f) => filterHolds(f, view.conversationRow))) continue;
    if (!segF.every((f) => view.rows.some((r) => filterHolds(f, r)))) continue;
    matches.push(view);
  }
  matches.sort((a, b) => a.conversationStartMs - b.conversationStartMs);
  if (order === 'desc') matches.reverse();
  const page = matches.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  const out: Json = { totalHits: matches.length };
  if (page.length > 0) out['conversations'] = page.map((v) => v.json);
  return out;
}

/** GET /api/v2/analytics/conversations/details?id=a&id=b: the visible ones, unknown ids left out. */
export function conversationDetailsByIds(
  platform: Platform,
  ids: string[],
  nowMs: number,
  lagMs: number,
): Json {
  if (ids.length === 0)
    throw badRequest('Name at least one conversation: ?id=<conversationId>&id=…', { field: 'id' });
  if (ids.length > 100) throw invalidValue('id', 'At most 100 conversation ids per request.');
  const conversations: Json[] = [];
  for (const id of ids) {
    const conv = platform.conversations.get(id);
    const view = conv ? visibleView(platform, conv, nowMs, lagMs) : undefined;
    if (view) conversations.push(view.json);
  }
  return { conversations };
}

const PROPERTY_TYPES = ['bool', 'integer', 'real', 'date', 'string', 'uuid'];

/** POST /api/v2/analytics/conversations/{id}/details/properties (`PropertyIndexRequest`). */
export function indexProperties(platform: Platform, conversationId: string, raw: unknown): Json {
  const body = requireObject(raw, 'PropertyIndexRequest');
  const conv = platform.conversations.get(conversationId);
  if (!conv) {
    throw new ApiError(404, 'not.found', `Conversation ${conversationId} was not found.`, { conversationId });
  }
  const sessionId = body['sessionId'];
  if (typeof sessionId !== 'string' || sessionId === '')
    throw invalidValue('sessionId', 'sessionId is required.');
  const sessions = conv.participants.flatMap((p) => [p.callback?.id, ...p.calls.map((c) => c.id)]);
  if (!sessions.includes(sessionId)) {
    throw invalidValue(
      'sessionId',
      `Session ${sessionId.slice(0, 64)} is not a session of conversation ${conv.id}.`,
    );
  }
  const targetDate = body['targetDate'];
  if (typeof targetDate !== 'string') throw invalidValue('targetDate', 'targetDate is required (ISO-8601).');
  parseInstant(targetDate, 'targetDate');
  const props = body['properties'];
  if (!Array.isArray(props) || props.length === 0) {
    throw invalidValue(
      'properties',
      'properties must be a non-empty array of {property, propertyType, value}.',
    );
  }
  const parsed = props.map((p, i) => {
    const o = p !== null && typeof p === 'object' ? (p as Json) : {};
    const property = o['property'];
    const propertyType = o['propertyType'];
    const value = o['value'];
    if (typeof property !== 'string' || property === '') {
      throw invalidValue(`properties[${i}].property`, `properties[${i}].property must be a name.`);
    }
    if (typeof propertyType !== 'string' || !PROPERTY_TYPES.includes(propertyType)) {
      throw invalidValue(
        `properties[${i}].propertyType`,
        `properties[${i}].propertyType must be one of ${PROPERTY_TYPES.join(', ')}.`,
      );
    }
    if (typeof value !== 'string')
      throw invalidValue(`properties[${i}].value`, `properties[${i}].value must be a string.`);
    return { property, propertyType, value };
  });
  platform.indexProperties(conv.id, sessionId, parsed);
  return { sessionId, targetDate, properties: parsed };
}

// ---- queue observations ----------------------------------------------------------------------

const CONVERSATION_METRICS = ['oWaiting', 'oInteracting', 'oAlerting'];
const USER_METRICS = ['oOnQueueUsers', 'oActiveUsers', 'oMemberUsers'];

export function queueObservationsQuery(platform: Platform, raw: unknown): Json {
  const body = requireObject(raw, 'QueueObservationQuery');
  if (body['filter'] === undefined) {
    throw new ApiError(400, 'bad.request', 'filter is required.', { field: 'filter' });
  }
  const filter = parseFilter(body['filter'], 'filter', false);
  const metrics = body['metrics'];
  if (!Array.isArray(metrics) || metrics.length === 0) {
    throw new ApiError(400, 'bad.request', 'metrics must be a non-empty array of metric names.', {
      field: 'metrics',
    });
  }
  for (const [i, m] of metrics.entries()) {
    if (typeof m !== 'string' || ![...CONVERSATION_METRICS, ...USER_METRICS].includes(m)) {
      throw invalidValue(
        `metrics[${i}]`,
        `metrics[${i}] must be one of ${[...CONVERSATION_METRICS, ...USER_METRICS].join(', ')} (the metrics the simulator models).`,
      );
    }
  }
  const all = [...filter.predicates, ...filter.clauses.flatMap((c) => c.predicates)];
  const queueIds = [
    ...new Set(all.filter((p) => p.dimension === 'queueId' && p.value).map((p) => p.value as string)),
  ];
  if (queueIds.length === 0) {
    throw new ApiError(400, 'bad.request', 'The filter must name at least one queueId.', { field: 'filter' });
  }
  for (const p of all) {
    if (p.dimension !== 'queueId' && p.dimension !== 'mediaType') {
      throw invalidValue(
        'filter',
        `Dimension ${p.dimension} is not modelled by the simulator (use queueId, mediaType).`,
      );
    }
  }
  const mediaTypes = [
    ...new Set(all.filter((p) => p.dimension === 'mediaType' && p.value).map((p) => p.value as string)),
  ];
  const convMetrics = (metrics as string[]).filter((m) => CONVERSATION_METRICS.includes(m));
  const userMetrics = (metrics as string[]).filter((m) => USER_METRICS.includes(m));
  const results: Json[] = [];
  for (const queueId of queueIds) {
    const o = platform.observe(queueId);
    const known = platform.queues.has(queueId);
    const q = platform.queues.get(queueId);
    if (userMetrics.length > 0) {
      const data: Json[] = [];
      for (const m of userMetrics) {
        if (m === 'oMemberUsers') {
          data.push({ metric: m, stats: { count: q?.agents.length ?? 0 } });
          continue;
        }
        // Agents on queue by routing status; a status with nobody in it is left out, as on the platform.
        if (o.idleAgents > 0) data.push({ metric: m, qualifier: 'IDLE', stats: { count: o.idleAgents } });
        if (o.busyAgents > 0) {
          data.push({ metric: m, qualifier: 'INTERACTING', stats: { count: o.busyAgents } });
        }
      }
      results.push({ group: { queueId }, data });
    }
    if (convMetrics.length > 0) {
      for (const mediaType of mediaTypes.length > 0 ? mediaTypes : [undefined]) {
        const isCallback = known && (mediaType === undefined || mediaType === 'callback');
        const value = (m: string): number => {
          if (!isCallback) return 0;
          if (m === 'oWaiting') return o.waiting;
          if (m === 'oInteracting') return o.interacting;
          return platform.alertingCount(queueId);
        };
        const group: Json = { queueId };
        if (mediaType !== undefined) group['mediaType'] = mediaType;
        results.push({ group, data: convMetrics.map((m) => ({ metric: m, stats: { count: value(m) } })) });
      }
    }
  }
  return { results };
}
