/**
 * Request-body checks in the platform's manner: the first problem found is answered with a 400
 * whose ErrorBody names the field (messageParams.field). Unknown fields are ignored, as the real
 * platform's deserializer does.
 */
import { ApiError, badRequest, invalidDate, invalidValue } from './errors.js';
import type { CreateInput, RescheduleInput } from './model.js';

type Json = Record<string, unknown>;

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const E164 = /^\+[1-9]\d{6,14}$/;
const DELIVERY_MODES = ['UseQueueSetting', 'UseAgentReservation', 'NoAgentReservation'];

export function requireObject(body: unknown, what: string): Json {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`The request body must be a JSON object (${what}).`);
  }
  return body as Json;
}

function optString(body: Json, field: string, path = field): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidValue(path, `${path} must be a string.`);
  return v;
}

export function parseInstant(value: string, field: string): number {
  const ms = ISO_INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw invalidDate(
      field,
      `${field} must be an ISO-8601 date-time with a zone, e.g. 2024-06-15T16:00:00.000Z; got "${value.slice(0, 64)}".`,
    );
  }
  return ms;
}

function numbers(v: unknown, field: string, strict: boolean): string[] {
  if (!Array.isArray(v)) throw invalidValue(field, `${field} must be an array of phone numbers.`);
  if (v.length === 0) throw invalidValue(field, `${field} must hold at least one phone number.`);
  if (v.length > 10) throw invalidValue(field, `${field} holds at most 10 phone numbers.`);
  return v.map((n, i) => {
    if (typeof n !== 'string' || !/\d/.test(n) || n.length > 32) {
      throw invalidValue(`${field}[${i}]`, `${field}[${i}] must be a phone number string.`);
    }
    if (strict && !E164.test(n)) {
      throw invalidValue(`${field}[${i}]`, `${field}[${i}] is not a valid E.164 phone number.`);
    }
    return n;
  });
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw invalidValue(field, `${field} must be an object of string values.`);
  }
  const entries = Object.entries(v as Json);
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw invalidValue(`${field}.${k}`, `${field}.${k} must be a string.`);
    if (k.length > 255 || val.length > 4096) {
      throw invalidValue(`${field}.${k}`, `${field}.${k} is too long (keys 255, values 4096 characters).`);
    }
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary attribute.
  return Object.fromEntries(entries) as Record<string, string>;
}

/** CreateCallbackCommand → the model's input. */
export function parseCreateCallback(raw: unknown): CreateInput {
  const body = requireObject(raw, 'CreateCallbackCommand');
  const strict = body['validateCallbackNumbers'] === true;
  if (body['validateCallbackNumbers'] !== undefined && typeof body['validateCallbackNumbers'] !== 'boolean') {
    throw invalidValue('validateCallbackNumbers', 'validateCallbackNumbers must be a boolean.');
  }
  if (body['callbackNumbers'] === undefined || body['callbackNumbers'] === null) {
    throw new ApiError(400, 'bad.request', 'callbackNumbers is required.', { field: 'callbackNumbers' });
  }
  const callbackNumbers = numbers(body['callbackNumbers'], 'callbackNumbers', strict);

  let queueId = optString(body, 'queueId');
  let priority: number | undefined;
  const routing = body['routingData'];
  if (routing !== undefined && routing !== null) {
    if (typeof routing !== 'object' || Array.isArray(routing)) {
      throw invalidValue('routingData', 'routingData must be an object.');
    }
    const r = routing as Json;
    const rq = optString(r, 'queueId', 'routingData.queueId');
    if (rq === undefined) {
      throw new ApiError(400, 'bad.request', 'routingData.queueId is required.', {
        field: 'routingData.queueId',
      });
    }
    queueId = rq;
    if (r['priority'] !== undefined && r['priority'] !== null) {
      if (typeof r['priority'] !== 'number' || !Number.isInteger(r['priority'])) {
        throw invalidValue('routingData.priority', 'routingData.priority must be an integer.');
      }
      priority = r['priority'];
    }
    for (const f of ['skillIds', 'preferredAgentIds', 'routingFlags']) {
      const v = r[f];
      if (v !== undefined && v !== null && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) {
        throw invalidValue(`routingData.${f}`, `routingData.${f} must be an array of strings.`);
      }
    }
    optString(r, 'languageId', 'routingData.languageId');
    optString(r, 'label', 'routingData.label');
    optString(r, 'skillExpression', 'routingData.skillExpression');
  }
  if (queueId === undefined || queueId === '') {
    throw new ApiError(400, 'bad.request', 'A queueId or routingData.queueId is required.', {
      field: 'queueId',
    });
  }

  const scheduled = optString(body, 'callbackScheduledTime');
  const scheduledMs = scheduled === undefined ? undefined : parseInstant(scheduled, 'callbackScheduledTime');
  const callerId = optString(body, 'callerId');
  if (callerId !== undefined && !E164.test(callerId)) {
    throw invalidValue('callerId', 'callerId must be an E.164 phone number, e.g. +18005551234.');
  }
  const mode = optString(body, 'customerFirstCallbackDeliveryMode');
  if (mode !== undefined && !DELIVERY_MODES.includes(mode)) {
    throw invalidValue(
      'customerFirstCallbackDeliveryMode',
      `customerFirstCallbackDeliveryMode must be one of ${DELIVERY_MODES.join(', ')}.`,
    );
  }
  optString(body, 'scriptId');
  optString(body, 'countryCode');
  const callerIdName = optString(body, 'callerIdName');
  const callbackUserName = optString(body, 'callbackUserName');
  const data = stringMap(body['data'], 'data');

  const input: CreateInput = { queueId, callbackNumbers, data };
  if (scheduledMs !== undefined) input.scheduledMs = scheduledMs;
  if (callerId !== undefined) input.callerId = callerId;
  if (callerIdName !== undefined) input.callerIdName = callerIdName;
  if (callbackUserName !== undefined) input.callbackUserName = callbackUserName;
  if (priority !== undefined) input.priority = priority;
  return input;
}

/** PatchCallbackRequest → the model's input. `agentId` is typed as required by the SDK but not
 *  enforced here (see README): a client-credentials app has no agent to name. */
export function parsePatchCallback(raw: unknown): RescheduleInput {
  const body = requireObject(raw, 'PatchCallbackRequest');
  const conversationId = optString(body, 'conversationId');
  if (conversationId === undefined || conversationId === '') {
    throw new ApiError(400, 'bad.request', 'conversationId is required.', { field: 'conversationId' });
  }
  optString(body, 'agentId');
  optString(body, 'countryCode');
  const input: RescheduleInput = { conversationId };
  const queueId = optString(body, 'queueId');
  if (queueId !== undefined) input.queueId = queueId;
  const scheduled = optString(body, 'callbackScheduledTime');
  if (scheduled !== undefined) input.scheduledMs = parseInstant(scheduled, 'callbackScheduledTime');
  if (body['callbackNumbers'] !== undefined && body['callbackNumbers'] !== null) {
    input.callbackNumbers = numbers(
      body['callbackNumbers'],
      'callbackNumbers',
      body['validateCallbackNumbers'] === true,
    );
  }
  return input;
}
