/**
 * The /sim control API (no auth, never counted): the clock, outcome rules, faults, settings,
 * staffing and the simulator's own view of conversations, for tests, demos and probes.
 */
import { ClockError, type Scheduler } from '../clock.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { checkFaultRule, type Faults } from '../faults.js';
import { maskNumber } from '../mask.js';
import { normalizeNumber, type Platform, type RescheduleInput, type SimConversation } from '../model.js';
import type { Notifications } from '../notifications.js';
import type {
  AttemptOutcome,
  FlowOutcomeName,
  NumberRule,
  Outcome,
  SimCallbackSettings,
  SimFlowOutcome,
  SimQueueDef,
} from '../org.js';
import { parseInstant, requireObject } from '../validate.js';
import { callbackConversation, fullConversation, type ViewContext } from '../views.js';
import { ENDPOINTS, type EndpointName, type Json, ok, type Reply, type SimSettings } from './http.js';

/** What the control API acts on (the SimServer). */
export interface ControlTarget {
  readonly platform: Platform;
  readonly scheduler: Scheduler;
  readonly faults: Faults;
  readonly settings: SimSettings;
  readonly notifications: Notifications;
  readonly views: ViewContext;
  countersSnapshot(): Record<string, Record<string, number>>;
  resetCounters(): void;
  revokeTokens(): void;
  resetAll(): void;
  orgJson(): Json;
}

export function handleControl(
  t: ControlTarget,
  method: string,
  path: string,
  query: URLSearchParams,
  raw: Buffer | 'tooLarge',
): Reply {
  try {
    if (raw === 'tooLarge') throw badRequest('Body too large.');
    const body = (): Json => {
      if (raw.length === 0) return {};
      try {
        return requireObject(JSON.parse(raw.toString('utf8')), 'control request');
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw badRequest('The control request body is not valid JSON.');
      }
    };
    const key = `${method} ${path}`;
    switch (key) {
      case 'GET /sim':
        return ok({ endpoints: SIM_HELP });
      case 'GET /sim/org':
        return ok(t.orgJson());
      case 'GET /sim/clock':
        return ok(clockJson(t, 0));
      case 'POST /sim/clock': {
        const b = body();
        let ran = 0;
        if (b['advanceMs'] !== undefined) ran = t.scheduler.advanceMs(num(b['advanceMs'], 'advanceMs'));
        else if (b['advanceSeconds'] !== undefined) {
          ran = t.scheduler.advanceMs(num(b['advanceSeconds'], 'advanceSeconds') * 1000);
        } else if (typeof b['set'] === 'string') ran = t.scheduler.advanceTo(parseInstant(b['set'], 'set'));
        else throw badRequest('Send {"advanceMs": n}, {"advanceSeconds": n} or {"set": "<ISO instant>"}.');
        return ok(clockJson(t, ran));
      }
      case 'GET /sim/counters':
        return ok(t.countersSnapshot());
      case 'DELETE /sim/counters':
        t.resetCounters();
        return ok({});
      case 'GET /sim/conversations': {
        const callbackId = query.get('callbackId');
        const list = [...t.platform.conversations.values()]
          .filter((c) => callbackId === null || c.data['callbackId'] === callbackId)
          .map((c) => simConversationJson(t.views, c));
        return ok({ total: list.length, conversations: list });
      }
      case 'GET /sim/rules':
        return ok({
          numberRules: Object.fromEntries(t.platform.numberRules),
          defaultRule: t.platform.defaultRule,
        });
      case 'POST /sim/rules': {
        const b = body();
        const rule = checkNumberRule(b['rule']);
        if (b['number'] === 'default') t.platform.defaultRule = rule;
        else if (typeof b['number'] === 'string' && /\d/.test(b['number'])) {
          t.platform.numberRules.set(normalizeNumber(b['number']), rule);
        } else throw badRequest('Send {"number": "+1415…" | "default", "rule": {"outcome": …}}.');
        return ok({
          numberRules: Object.fromEntries(t.platform.numberRules),
          defaultRule: t.platform.defaultRule,
        });
      }
      case 'GET /sim/faults':
        return ok({ faults: t.faults.list(), endpoints: ENDPOINTS });
      case 'POST /sim/faults': {
        const b = body();
        const list = Array.isArray(b['faults']) ? b['faults'] : [b];
        const rules = list.map((f) => wrapControlError(() => checkFaultRule(f)));
        if (b['replace'] === true || Array.isArray(b['faults'])) t.faults.set(rules);
        else for (const rule of rules) t.faults.add(rule);
        return ok({ faults: t.faults.list() });
      }
      case 'DELETE /sim/faults':
        t.faults.clear();
        return ok({ faults: [] });
      case 'POST /sim/settings':
        applySettings(t, body());
        return ok({ ...t.settings, carrierRejectsUnknownCallerId: t.platform.carrierRejectsUnknownCallerId });
      case 'POST /sim/notifications': {
        const b = body();
        if (b['enabled'] !== undefined) t.notifications.enabled = bool(b['enabled'], 'enabled');
        if (b['forbiddenTopics'] !== undefined) {
          const f = b['forbiddenTopics'];
          if (!Array.isArray(f) || f.some((x) => typeof x !== 'string')) {
            throw badRequest(
              'forbiddenTopics must be an array of topic names (a trailing * matches a prefix).',
            );
          }
          t.notifications.forbiddenTopics = [...f];
        }
        const closed = b['closeSockets'] === true ? t.notifications.closeSockets() : 0;
        return ok({
          enabled: t.notifications.enabled,
          forbiddenTopics: t.notifications.forbiddenTopics,
          socketsClosed: closed,
        });
      }
      case 'POST /sim/tokens/revoke':
        t.revokeTokens();
        return ok({});
      case 'POST /sim/reset':
        t.resetAll();
        return ok({});
    }
    const qm = /^\/sim\/queues\/([^/]+)$/.exec(path);
    if (qm && method === 'POST') {
      const b = body();
      const id = decodeURIComponent(qm[1]!);
      if (b['agents'] !== undefined) t.platform.setAgentCount(id, intIn(b['agents'], 'agents', 0, 1000));
      if (b['capacity'] !== undefined) {
        const c = b['capacity'];
        if (c === null) t.platform.setQueueCapacity(id, undefined);
        else {
          const cap = requireObject(c, 'capacity');
          t.platform.setQueueCapacity(id, {
            maxWaiting: intIn(cap['maxWaiting'], 'maxWaiting', 0, 1_000_000),
          });
        }
      }
      t.platform.configureQueue(id, checkQueueChange(b));
      return ok(t.orgJson()['queues']);
    }
    const sm = /^\/sim\/conversations\/([^/]+)\/(reschedule|disconnect)$/.exec(path);
    if (sm && method === 'POST') {
      const id = decodeURIComponent(sm[1]!);
      if (sm[2] === 'disconnect') t.platform.disconnect(id);
      else {
        const b = body();
        const input: RescheduleInput = { conversationId: id };
        if (typeof b['queueId'] === 'string') input.queueId = b['queueId'];
        if (typeof b['callbackScheduledTime'] === 'string') {
          input.scheduledMs = parseInstant(b['callbackScheduledTime'], 'callbackScheduledTime');
        }
        t.platform.reschedule(input);
      }
      const conv = t.platform.conversations.get(id)!;
      return ok(simConversationJson(t.views, conv));
    }
    const cm = /^\/sim\/conversations\/([^/]+)$/.exec(path);
    if (cm && method === 'GET') {
      const conv = t.platform.conversations.get(decodeURIComponent(cm[1]!));
      if (!conv) throw notFound('No such conversation.');
      return ok(simConversationJson(t.views, conv));
    }
    throw notFound(`No control endpoint ${method} ${path}; GET /sim lists them.`);
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, body: err.body() };
    if (err instanceof ClockError) return { status: 400, body: badRequest(err.message).body() };
    throw err;
  }
}

function clockJson(t: ControlTarget, eventsRun: number): Json {
  return { now: t.scheduler.nowIso(), nowMs: t.scheduler.now(), mode: t.scheduler.mode, eventsRun };
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw badRequest(`${field} must be a non-negative number.`);
  return v;
}

function intIn(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badRequest(`${field} must be an integer from ${min} to ${max}.`);
  }
  return v;
}

function wrapControlError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw badRequest(err instanceof Error ? err.message : String(err));
  }
}

const OUTCOMES: Outcome[] = ['answer', 'noAnswer', 'failDtmf', 'busy', 'voicemail', 'carrierFailure'];

export function checkNumberRule(raw: unknown): NumberRule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badRequest('rule must be an object {outcome, ringSeconds?, talkSeconds?}.');
  }
  const r = raw as Json;
  const secs = (f: string): number | undefined => {
    if (r[f] === undefined) return undefined;
    return intIn(r[f], f, 0, 86_400);
  };
  const ringSeconds = secs('ringSeconds');
  const talkSeconds = secs('talkSeconds');
  const timing = {
    ...(ringSeconds !== undefined ? { ringSeconds } : {}),
    ...(talkSeconds !== undefined ? { talkSeconds } : {}),
  };
  if (r['outcome'] === 'random') {
    const w = r['weights'];
    if (w === null || typeof w !== 'object' || Array.isArray(w))
      throw badRequest('A random rule needs weights.');
    const weights: Partial<Record<Outcome, number>> = {};
    for (const [k, v] of Object.entries(w as Json)) {
      if (!OUTCOMES.includes(k as Outcome) || typeof v !== 'number' || !(v >= 0)) {
        throw badRequest(`weights keys are ${OUTCOMES.join(', ')} with non-negative numbers.`);
      }
      weights[k as Outcome] = v;
    }
    if (!Object.values(weights).some((v) => (v ?? 0) > 0))
      throw badRequest('weights need one positive value.');
    return { outcome: 'random', weights, ...timing };
  }
  if (!OUTCOMES.includes(r['outcome'] as Outcome)) {
    throw badRequest(`rule.outcome must be one of ${[...OUTCOMES, 'random'].join(', ')}.`);
  }
  return { outcome: r['outcome'] as Outcome, ...timing };
}

/** The simulator's own view of a conversation (for tests): the wire form plus bookkeeping. */
export function simConversationJson(views: ViewContext, c: SimConversation): Json {
  return {
    id: c.id,
    queueId: c.queueId,
    phase: c.phase,
    endReason: c.endReason ?? null,
    createdAt: new Date(c.createdMs).toISOString(),
    callbackScheduledTime: new Date(c.scheduledMs).toISOString(),
    callbackNumbersMasked: c.callbackNumbers.map(maskNumber),
    callerId: c.callerId ?? null,
    data: c.data,
    attempts: c.attemptOutcomes,
    agentReschedules: c.agentReschedules,
    conversation: callbackConversation(views, c),
    full: fullConversation(views, c),
  };
}

const SIM_HELP = {
  'GET /sim/org': 'the demo organization (OAuth client, queues, DIDs, customers, number rules)',
  'GET /sim/clock': 'simulator time',
  'POST /sim/clock': '{advanceMs} | {advanceSeconds} | {set: ISO}: move time forward, running due events',
  'GET /sim/counters': 'requests by endpoint and outcome (HTTP status, reset, noAnswer)',
  'DELETE /sim/counters': 'zero the counters',
  'GET /sim/conversations[?callbackId=]': 'every conversation (filter by data.callbackId)',
  'GET /sim/conversations/{id}': 'one conversation with its phase and end reason',
  'POST /sim/conversations/{id}/reschedule':
    '{callbackScheduledTime?, queueId?}: a supervisor moves the callback in Genesys UI (not counted as an API call)',
  'POST /sim/conversations/{id}/disconnect': 'a supervisor disconnects the callback in Genesys UI',
  'GET /sim/rules': 'per-number outcome rules and the default rule',
  'POST /sim/rules':
    '{number: "+1…" | "default", rule: {outcome: answer|noAnswer|failDtmf|busy|voicemail|carrierFailure|random, ...}}',
  'GET /sim/faults': 'active fault rules and endpoint names',
  'POST /sim/faults': '{endpoint, kind, rate?, latencyMs?, status?, times?} adds; {faults: [...]} replaces',
  'DELETE /sim/faults': 'remove every fault rule',
  'POST /sim/settings':
    '{requestsPerMinute?, analyticsLagMs?, tokenLifetimeSeconds?, searchLagMs?, searchAllowed?, rateLimitHeaders?, resourceLimits?: {endpoint: n}, carrierRejectsUnknownCallerId?}',
  'POST /sim/notifications': '{enabled?, forbiddenTopics?: [topic | prefix*], closeSockets?: true}',
  'POST /sim/queues/{id}':
    '{agents?, capacity?: {maxWaiting} | null, callback?: {enableAutoDialAndEnd, autoDialDelaySeconds, autoEndDelaySeconds, maxRetryCount, retryDelaySeconds}, flow?: {failedDtmf|timeout|capacity: {disconnectType, wrapUpCode?}}, agentWrapUps?: {answered|noAnswer|busy|voicemail|carrierFailure: name}, agentOnUnreached?: {action: end} | {action: reschedule, delaySeconds}}',
  'POST /sim/tokens/revoke': 'invalidate every access token',
  'POST /sim/reset': 'forget conversations, counters, faults, tokens, channels; restore rules',
};

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw badRequest(`${field} must be true or false.`);
  return v;
}

function applySettings(t: ControlTarget, b: Json): void {
  const s = t.settings;
  if (b['requestsPerMinute'] !== undefined) {
    s.requestsPerMinute = intIn(b['requestsPerMinute'], 'requestsPerMinute', 1, 1_000_000);
  }
  if (b['analyticsLagMs'] !== undefined)
    s.analyticsLagMs = intIn(b['analyticsLagMs'], 'analyticsLagMs', 0, 86_400_000);
  if (b['searchLagMs'] !== undefined) s.searchLagMs = intIn(b['searchLagMs'], 'searchLagMs', 0, 86_400_000);
  if (b['tokenLifetimeSeconds'] !== undefined) {
    s.tokenLifetimeSeconds = intIn(b['tokenLifetimeSeconds'], 'tokenLifetimeSeconds', 1, 172_800);
  }
  if (b['searchAllowed'] !== undefined) s.searchAllowed = bool(b['searchAllowed'], 'searchAllowed');
  if (b['rateLimitHeaders'] !== undefined)
    s.rateLimitHeaders = bool(b['rateLimitHeaders'], 'rateLimitHeaders');
  if (b['carrierRejectsUnknownCallerId'] !== undefined) {
    t.platform.carrierRejectsUnknownCallerId = bool(
      b['carrierRejectsUnknownCallerId'],
      'carrierRejectsUnknownCallerId',
    );
  }
  if (b['resourceLimits'] !== undefined) {
    const r = requireObject(b['resourceLimits'], 'resourceLimits');
    const limits: Partial<Record<EndpointName, number>> = {};
    for (const [k, v] of Object.entries(r)) {
      if (!(ENDPOINTS as readonly string[]).includes(k)) {
        throw badRequest(`resourceLimits keys are endpoint names (${ENDPOINTS.join(', ')}).`);
      }
      limits[k as EndpointName] = intIn(v, `resourceLimits.${k}`, 1, 1_000_000);
    }
    s.resourceLimits = limits;
  }
}

const FLOW_OUTCOMES: FlowOutcomeName[] = ['failedDtmf', 'timeout', 'capacity'];
const ATTEMPT_OUTCOMES: AttemptOutcome[] = ['answered', 'noAnswer', 'busy', 'voicemail', 'carrierFailure'];
type QueueChange = Partial<Pick<SimQueueDef, 'callback' | 'flow' | 'agentWrapUps' | 'agentOnUnreached'>>;

/** The queue behaviour a POST /sim/queues/{id} body changes (fields absent are left as they are). */
export function checkQueueChange(b: Json): QueueChange {
  const out: QueueChange = {};
  if (b['callback'] !== undefined) {
    const c = requireObject(b['callback'], 'callback');
    const cb: Partial<SimCallbackSettings> = {};
    if (c['mode'] !== undefined && c['mode'] !== 'AgentFirst') {
      throw badRequest('callback.mode: only AgentFirst is modelled.');
    }
    if (c['enableAutoDialAndEnd'] !== undefined) {
      cb.enableAutoDialAndEnd = bool(c['enableAutoDialAndEnd'], 'callback.enableAutoDialAndEnd');
    }
    for (const f of [
      'autoDialDelaySeconds',
      'autoEndDelaySeconds',
      'maxRetryCount',
      'retryDelaySeconds',
    ] as const) {
      if (c[f] !== undefined) cb[f] = intIn(c[f], `callback.${f}`, 0, 86_400);
    }
    out.callback = cb as SimCallbackSettings;
  }
  if (b['flow'] !== undefined) {
    const f = requireObject(b['flow'], 'flow');
    const flow: Partial<Record<FlowOutcomeName, SimFlowOutcome>> = {};
    for (const [k, v] of Object.entries(f)) {
      if (!FLOW_OUTCOMES.includes(k as FlowOutcomeName))
        throw badRequest(`flow keys are ${FLOW_OUTCOMES.join(', ')}.`);
      const o = requireObject(v, `flow.${k}`);
      if (typeof o['disconnectType'] !== 'string' || o['disconnectType'] === '') {
        throw badRequest(`flow.${k}.disconnectType must be a disconnect type string (e.g. system).`);
      }
      if (o['wrapUpCode'] !== undefined && typeof o['wrapUpCode'] !== 'string') {
        throw badRequest(`flow.${k}.wrapUpCode must be a wrap-up code name or id.`);
      }
      flow[k as FlowOutcomeName] = {
        disconnectType: o['disconnectType'],
        ...(typeof o['wrapUpCode'] === 'string' ? { wrapUpCode: o['wrapUpCode'] } : {}),
      };
    }
    out.flow = flow as Record<FlowOutcomeName, SimFlowOutcome>;
  }
  if (b['agentWrapUps'] !== undefined) {
    const w = requireObject(b['agentWrapUps'], 'agentWrapUps');
    for (const [k, v] of Object.entries(w)) {
      if (!ATTEMPT_OUTCOMES.includes(k as AttemptOutcome) || typeof v !== 'string') {
        throw badRequest(`agentWrapUps keys are ${ATTEMPT_OUTCOMES.join(', ')}, values wrap-up code names.`);
      }
    }
    out.agentWrapUps = w as Record<AttemptOutcome, string>;
  }
  if (b['agentOnUnreached'] !== undefined) {
    const a = requireObject(b['agentOnUnreached'], 'agentOnUnreached');
    if (a['action'] === 'end') out.agentOnUnreached = { action: 'end' };
    else if (a['action'] === 'reschedule') {
      out.agentOnUnreached = {
        action: 'reschedule',
        delaySeconds: intIn(a['delaySeconds'], 'agentOnUnreached.delaySeconds', 0, 30 * 86_400),
      };
    } else throw badRequest('agentOnUnreached is {action: "end"} or {action: "reschedule", delaySeconds}.');
  }
  return out;
}
