/**
 * The two analytics queries callbackd uses. Conversation details are served from snapshots at
 * least `lagMs` old (the platform's analytics lag); queue observations are live.
 */
import { ApiError, badRequest, invalidValue } from './errors.js';
import type { Platform, SimConversation, WireConversation, WireParticipant } from './model.js';
import { parseInstant, requireObject } from './validate.js';

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
  fields: Record<string, string | undefined>;
  attributes: Record<string, string>;
}

function predicateHolds(p: Predicate, row: Row): boolean {
  const actual = p.type === 'property' ? row.attributes[p.property!] : row.fields[p.dimension!];
  if (p.operator === 'exists') return actual !== undefined;
  if (p.operator === 'notExists') return actual === undefined;
  return actual !== undefined && actual === p.value;
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

interface Segment {
  segmentStart: string;
  segmentEnd?: string;
  segmentType: string;
  queueId?: string;
  disconnectType?: string;
  wrapUpCode?: string;
}

function segmentsOf(p: WireParticipant): Segment[] {
  const segs: Segment[] = [];
  const queueId = p.queue?.id;
  const add = (s: Segment): void => {
    if (queueId !== undefined) s.queueId = queueId;
    segs.push(s);
  };
  if (p.purpose === 'agent') {
    const alertStart = p.startAlertingTime ?? p.startTime!;
    if (p.connectedTime) {
      add({ segmentStart: alertStart, segmentEnd: p.connectedTime, segmentType: 'alert' });
      add({
        segmentStart: p.connectedTime,
        segmentType: 'interact',
        ...(p.endTime ? { segmentEnd: p.endTime } : {}),
      });
    } else {
      add({
        segmentStart: alertStart,
        segmentType: 'alert',
        ...(p.endTime ? { segmentEnd: p.endTime } : {}),
      });
    }
    if (p.wrapup && p.endTime) {
      add({
        segmentStart: p.endTime,
        segmentEnd: p.wrapup.endTime,
        segmentType: 'wrapup',
        wrapUpCode: p.wrapup.code,
      });
    }
  } else if (p.purpose === 'customer') {
    const type = p.connectedTime ? 'interact' : p.state === 'none' ? 'scheduled' : 'dialing';
    add({ segmentStart: p.startTime!, segmentType: type, ...(p.endTime ? { segmentEnd: p.endTime } : {}) });
  } else {
    add({
      segmentStart: p.startTime!,
      segmentType: 'interact',
      ...(p.endTime ? { segmentEnd: p.endTime } : {}),
    });
  }
  const last = segs[segs.length - 1];
  if (last && p.disconnectType && p.state === 'disconnected') {
    // The disconnect belongs to the segment during which the participant left.
    const target = last.segmentType === 'wrapup' ? segs[segs.length - 2] : last;
    if (target) target.disconnectType = p.disconnectType;
  }
  return segs;
}

interface AnalyticsView {
  json: Json;
  conversationStartMs: number;
  rows: Row[];
  conversationRow: Row;
}

function analyticsView(conv: SimConversation, wire: WireConversation, divisionId: string): AnalyticsView {
  const ended = wire.participants.every((p) => p.state === 'disconnected');
  const conversationEnd = ended
    ? wire.participants
        .map((p) => p.endTime ?? '')
        .sort()
        .at(-1)
    : undefined;
  const rows: Row[] = [];
  const participants = wire.participants.map((p) => {
    const session: Json = {
      sessionId: `${p.id.slice(0, 24)}${p.id.slice(24).split('').reverse().join('')}`,
      mediaType: 'callback',
      direction: p.direction,
      segments: segmentsOf(p),
    };
    if (p.purpose === 'customer') {
      session['callbackNumbers'] = p.callbackNumbers;
      session['callbackScheduledTime'] = p.callbackScheduledTime;
      if (p.callbackUserName !== undefined) session['callbackUserName'] = p.callbackUserName;
      if (p.address) session['addressTo'] = p.address;
    }
    const part: Json = {
      participantId: p.id,
      participantName: p.name,
      purpose: p.purpose,
      sessions: [session],
    };
    if (p.user) part['userId'] = p.user.id;
    for (const seg of session['segments'] as Segment[]) {
      rows.push({
        fields: {
          conversationId: conv.id,
          purpose: p.purpose,
          participantId: p.id,
          participantName: p.name,
          userId: p.user?.id,
          mediaType: 'callback',
          direction: p.direction,
          sessionId: session['sessionId'] as string,
          segmentType: seg.segmentType,
          queueId: seg.queueId,
          disconnectType: seg.disconnectType,
          wrapUpCode: seg.wrapUpCode,
        },
        attributes: p.attributes,
      });
    }
    return part;
  });
  const json: Json = {
    conversationId: conv.id,
    conversationStart: new Date(conv.createdMs).toISOString(),
    originatingDirection: 'outbound',
    divisionIds: [divisionId],
    participants,
  };
  if (conversationEnd) json['conversationEnd'] = conversationEnd;
  return {
    json,
    conversationStartMs: conv.createdMs,
    rows,
    conversationRow: {
      fields: {
        conversationId: conv.id,
        originatingDirection: 'outbound',
        divisionId,
        conversationEnd,
        conversationStart: json['conversationStart'] as string,
      },
      attributes: {},
    },
  };
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
      {
        field: 'interval',
      },
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

  const visibleUpTo = nowMs - lagMs;
  const matches: AnalyticsView[] = [];
  for (const conv of platform.conversations.values()) {
    if (conv.createdMs < start || conv.createdMs >= end) continue;
    let version: WireConversation | undefined;
    for (const v of conv.versions) {
      if (v.atMs <= visibleUpTo) version = v.json;
      else break;
    }
    if (!version) continue;
    const view = analyticsView(conv, version, platform.org.divisionId);
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
