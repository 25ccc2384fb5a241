/**
 * POST /api/v2/conversations/participants/attributes/search as GENESYS.md's [live] facts have it:
 * the only searchable fields are conversationId, startTime, endTime and divisionId (anything
 * else, an attribute above all, is a 400 "Search not supported"); a DATE_RANGE on startTime of at
 * most 24 h is required; rows carry every participant's attributes; only conversations that have
 * attributes are found; cursor paging, about 50 rows a page; 30 days of retention.
 */
import { ApiError, badRequest, invalidValue } from './errors.js';
import type { Platform, SimConversation } from './model.js';
import { parseInstant, requireObject } from './validate.js';
import { conversationEnd } from './views.js';

type Json = Record<string, unknown>;

export const SEARCH_PAGE_SIZE = 50;
export const SEARCH_MAX_WINDOW_MS = 24 * 3_600_000;
export const SEARCH_RETENTION_MS = 30 * 86_400_000;
const SEARCHABLE = ['conversationId', 'startTime', 'endTime', 'divisionId'];

const notSupported = (what: string): ApiError =>
  new ApiError(400, 'bad.request', `Search not supported: ${what.slice(0, 120)}`, {});

interface Criteria {
  fromMs: number;
  toMs: number;
  conversationIds?: string[];
  divisionIds?: string[];
}

function parseCriteria(raw: unknown): Criteria {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw badRequest('query must be a non-empty array of criteria, with a DATE_RANGE on startTime.');
  }
  let range: { fromMs: number; toMs: number } | undefined;
  const out: Partial<Criteria> = {};
  raw.forEach((c, i) => {
    const o = requireObject(c, `query[${i}]`);
    const type = o['type'];
    const fields = o['fields'];
    if (typeof type !== 'string') throw invalidValue(`query[${i}].type`, `query[${i}].type is required.`);
    if (o['group'] !== undefined) throw notSupported(`query[${i}].group`);
    if (!Array.isArray(fields) || fields.length === 0 || fields.some((f) => typeof f !== 'string')) {
      throw invalidValue(`query[${i}].fields`, `query[${i}].fields must name the field searched.`);
    }
    for (const f of fields as string[]) if (!SEARCHABLE.includes(f)) throw notSupported(`field ${f}`);
    const field = (fields as string[])[0]!;
    if (type === 'DATE_RANGE') {
      if (fields.length !== 1 || field !== 'startTime')
        throw notSupported(`DATE_RANGE on ${fields.join(', ')}`);
      const sv = o['startValue'];
      const ev = o['endValue'];
      if (typeof sv !== 'string' || typeof ev !== 'string') {
        throw invalidValue(`query[${i}]`, `query[${i}] needs startValue and endValue (ISO-8601).`);
      }
      const fromMs = parseInstant(sv, `query[${i}].startValue`);
      const toMs = parseInstant(ev, `query[${i}].endValue`);
      if (toMs <= fromMs) throw invalidValue(`query[${i}]`, 'endValue must be after startValue.');
      if (toMs - fromMs > SEARCH_MAX_WINDOW_MS) {
        throw badRequest('The startTime range may span at most 24 hours; split the search into windows.', {
          field: `query[${i}]`,
        });
      }
      range = { fromMs, toMs };
      return;
    }
    if (type === 'EXACT' && (field === 'conversationId' || field === 'divisionId') && fields.length === 1) {
      const values = o['values'] ?? (o['value'] === undefined ? undefined : [o['value']]);
      if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string')) {
        throw invalidValue(`query[${i}]`, `query[${i}] needs value or values (strings).`);
      }
      if (field === 'conversationId') out.conversationIds = values as string[];
      else out.divisionIds = values as string[];
      return;
    }
    throw notSupported(`${type} on ${fields.join(', ')}`);
  });
  if (!range)
    throw badRequest('A DATE_RANGE on startTime (at most 24 hours) is required.', { field: 'query' });
  return { ...out, ...range } as Criteria;
}

function row(platform: Platform, conv: SimConversation): Json | undefined {
  const participantData = conv.participants
    .filter((p) => Object.keys(p.attributes).length > 0)
    .map((p) => ({
      participantPurpose: p.purpose,
      participantId: p.id,
      participantAttributes: { ...p.attributes },
      sessionIds: [p.callback?.id, ...p.calls.map((c) => c.id)].filter((s): s is string => s !== undefined),
    }));
  if (participantData.length === 0) return undefined;
  const out: Json = {
    conversationId: conv.id,
    startTime: new Date(conv.createdMs).toISOString(),
    divisionIds: [platform.org.divisionId],
    participantData,
    truncatedData: false,
  };
  const end = conversationEnd(conv);
  if (end !== undefined) out['endTime'] = new Date(end).toISOString();
  return out;
}

function encodeCursor(offset: number, key: string): string {
  return Buffer.from(JSON.stringify({ o: offset, k: key })).toString('base64url');
}

function decodeCursor(cursor: string, key: string): number {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown; k?: unknown };
    if (typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0 && v.k === key) return v.o;
  } catch {
    // fall through
  }
  throw invalidValue('cursor', 'cursor is not one this search returned; repeat the search without it.');
}

export function participantAttributesSearch(
  platform: Platform,
  raw: unknown,
  nowMs: number,
  lagMs: number,
): Json {
  const body = requireObject(raw, 'ConversationParticipantSearchRequest');
  const criteria = parseCriteria(body['query']);
  const order = body['sortOrder'] ?? 'ASC';
  if (order !== 'ASC' && order !== 'DESC') throw invalidValue('sortOrder', 'sortOrder must be ASC or DESC.');
  const key = JSON.stringify([body['query'], order]);
  const offset = typeof body['cursor'] === 'string' ? decodeCursor(body['cursor'], key) : 0;
  const rows: Json[] = [];
  const matching = [...platform.conversations.values()]
    .filter(
      (c) =>
        c.createdMs >= criteria.fromMs &&
        c.createdMs < criteria.toMs &&
        c.createdMs >= nowMs - SEARCH_RETENTION_MS &&
        (c.versions[0]?.atMs ?? Number.POSITIVE_INFINITY) <= nowMs - lagMs &&
        (criteria.conversationIds === undefined || criteria.conversationIds.includes(c.id)) &&
        (criteria.divisionIds === undefined || criteria.divisionIds.includes(platform.org.divisionId)),
    )
    .sort((a, b) => a.createdMs - b.createdMs || a.seq - b.seq);
  if (order === 'DESC') matching.reverse();
  for (const c of matching) {
    const r = row(platform, c);
    if (r) rows.push(r);
  }
  const page = rows.slice(offset, offset + SEARCH_PAGE_SIZE);
  const out: Json = { types: ['conversations'], results: page };
  if (offset + SEARCH_PAGE_SIZE < rows.length) out['cursor'] = encodeCursor(offset + SEARCH_PAGE_SIZE, key);
  return out;
}
