/**
 * The Genesys Cloud simulator: an independent model of the parts of Platform API v2 that
 * callbackd uses (see README.md next to this file). It imports nothing from the rest of src/.
 *
 *   const sim = await startSimulator();            // manual clock, ephemeral port
 *   sim.url                                        // http://127.0.0.1:PORT (API and OAuth host)
 *   sim.clock.advanceMs(60_000)                    // runs every event that falls due
 *   sim.control.conversations({ callbackId })      // count duplicates
 *   await sim.close()
 */

import { checkQueueChange } from './api/control.js';
import { DEFAULT_SETTINGS, type SimSettings } from './api/http.js';
import { createScheduler, type SimClock } from './clock.js';
import type { FaultRule } from './faults.js';
import { checkFaultRule } from './faults.js';
import {
  type FlowTimings,
  normalizeNumber,
  Platform,
  type QueueCapacity,
  type RescheduleInput,
  type SimConversation,
} from './model.js';
import { demoOrg, type NumberRule, type SimOrgDef } from './org.js';
import { createRandom } from './random.js';
import { checkNumberRule, ENDPOINTS, type EndpointName, SimServer, simConversationJson } from './server.js';

export type { SimClock } from './clock.js';
export type { FaultKind, FaultRule } from './faults.js';
export { maskNumber } from './mask.js';
export type { EndReason, FlowTimings, Phase, QueueCapacity } from './model.js';
export { FLOW_ATTRIBUTES } from './model.js';
export {
  type AttemptOutcome,
  BILLING_QUEUE_ID,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  defaultQueueBehaviour,
  demoOrg,
  type FlowOutcomeName,
  type NumberRule,
  type Outcome,
  type SimCallbackSettings,
  type SimFlowOutcome,
  type SimOrgDef,
  type SimQueueDef,
  SUPPORT_QUEUE_ID,
} from './org.js';
export type { WireConversation, WireParticipant } from './views.js';
export { ENDPOINTS, type EndpointName };

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Simulator start time (epoch ms, ISO string or Date). Default: now. */
  startTime?: number | string | Date;
  /** Follow wall time and fire events on timers (demo), instead of a manual clock (tests). Default false. */
  realTime?: boolean;
  /** How long a change takes to show in the conversation details query. Default 5000. */
  analyticsLagMs?: number;
  /** How long a new conversation takes to show in the participant-attributes search. Default 5000. */
  searchLagMs?: number;
  /** Per access token, per minute. Default 300. */
  requestsPerMinute?: number;
  /** Lifetime of issued access tokens. Default 86400 (24 h, the platform's default). */
  tokenLifetimeSeconds?: number;
  /** Seed of the PRNG behind fault injection and random outcome rules. Default 1. */
  seed?: number;
  /** One line per interesting event (phone numbers masked). Default: silent. */
  log?: (line: string) => void;
  /** Replace the demo organization. */
  org?: SimOrgDef;
}

/** The simulator's view of one conversation, for tests. */
export interface SimConversationView {
  id: string;
  queueId: string;
  phase: string;
  endReason: string | null;
  createdAt: string;
  callbackScheduledTime: string;
  callerId: string | null;
  data: Record<string, string>;
  /** Outcome of each voice attempt so far. */
  attempts: string[];
  agentReschedules: number;
  /** GET /api/v2/conversations/callbacks/{id} (callback media). */
  conversation: import('./views.js').WireConversation;
  /** GET /api/v2/conversations/{id} (every participant with callbacks[], calls[], wrapup). */
  full: Record<string, unknown>;
}

export interface SimControl {
  setNumberRule(number: string, rule: NumberRule): void;
  setDefaultRule(rule: NumberRule): void;
  /** Adds one fault rule; returns nothing. Faults are drawn from the seeded PRNG. */
  addFault(rule: FaultRule): void;
  setFaults(rules: FaultRule[]): void;
  clearFaults(): void;
  setRequestsPerMinute(n: number): void;
  setAnalyticsLagMs(ms: number): void;
  setTokenLifetimeSeconds(s: number): void;
  setAgentCount(queueId: string, count: number): void;
  setQueueCapacity(queueId: string, capacity: QueueCapacity | undefined): void;
  /** Queue callback settings (auto dial and end, retries), flow outcomes, agent wrap-ups and behaviour. */
  configureQueue(queueId: string, change: Record<string, unknown>): void;
  /** false: channels stay up but no topic event is delivered. */
  setNotificationsEnabled(enabled: boolean): void;
  /** Topics (or prefixes ending in *) whose subscribe fails the permission check. */
  setForbiddenTopics(topics: string[]): void;
  /** Closes every notification socket, `v2.system.socket_closing` first; returns how many. */
  closeNotificationSockets(): number;
  /** false: the participant-attributes search answers 403. */
  setSearchAllowed(allowed: boolean): void;
  setSearchLagMs(ms: number): void;
  /** false: no inin-ratelimit-* headers on any answer. */
  setRateLimitHeaders(on: boolean): void;
  /** Org-wide per-resource limits per minute (endpoint name → allowed). */
  setResourceLimits(limits: Partial<Record<EndpointName, number>>): void;
  /** The [guess] that the carrier refuses a non-DID callerId (default true in the demo org). */
  setCarrierRejectsUnknownCallerId(on: boolean): void;
  setTimings(timings: Partial<FlowTimings>): void;
  /** Requests by endpoint name and outcome ("200", "429", "reset", "noAnswer", ...). */
  counters(): Record<string, Record<string, number>>;
  /** Total requests to one endpoint (all outcomes), or to every platform endpoint. */
  requestCount(endpoint?: EndpointName): number;
  resetCounters(): void;
  /** Every conversation in creation order; filter by data.callbackId to count duplicates. */
  conversations(filter?: { callbackId?: string }): SimConversationView[];
  conversation(id: string): SimConversationView | undefined;
  /** A supervisor moves a callback in Genesys's own UI (same effect as the PATCH, not counted). */
  supervisorReschedule(id: string, change: { callbackScheduledTime?: string; queueId?: string }): void;
  /** A supervisor disconnects a callback in Genesys's own UI (not counted). */
  supervisorDisconnect(id: string): void;
  revokeTokens(): void;
  /** Forgets conversations, counters, faults, tokens and channels; restores rules and agents. */
  reset(): void;
  /** Messages pushed on notification websockets so far. */
  notificationsSent(): number;
}

export interface Simulator {
  /** Base URL of the API and OAuth host, e.g. http://127.0.0.1:41234. */
  url: string;
  /** The demo organization as served at GET /sim/org. */
  org: Record<string, unknown>;
  clock: SimClock;
  control: SimControl;
  close(): Promise<void>;
}

function toMs(t: number | string | Date | undefined): number {
  if (t === undefined) return Date.now();
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : t;
  if (!Number.isFinite(ms))
    throw new Error(`startTime ${String(t)} is not a valid instant; pass epoch ms or ISO 8601.`);
  return ms;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? 1;
  const org = opts.org ?? demoOrg();
  const scheduler = createScheduler({
    startMs: toMs(opts.startTime),
    realTime: opts.realTime ?? false,
    onError: (label, err) =>
      log(`[sim] event ${label} failed: ${err instanceof Error ? err.message : String(err)}`),
  });
  const random = createRandom(seed);
  const platform = new Platform(org, scheduler, random, log);
  const settings: SimSettings = {
    ...DEFAULT_SETTINGS,
    resourceLimits: { ...DEFAULT_SETTINGS.resourceLimits },
    analyticsLagMs: opts.analyticsLagMs ?? DEFAULT_SETTINGS.analyticsLagMs,
    requestsPerMinute: opts.requestsPerMinute ?? DEFAULT_SETTINGS.requestsPerMinute,
    tokenLifetimeSeconds: opts.tokenLifetimeSeconds ?? DEFAULT_SETTINGS.tokenLifetimeSeconds,
    searchLagMs: opts.searchLagMs ?? DEFAULT_SETTINGS.searchLagMs,
  };
  const server = new SimServer(org, platform, scheduler, random, settings, log, seed);
  const url = await server.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);

  const view = (c: SimConversation): SimConversationView =>
    simConversationJson(server.views, c) as unknown as SimConversationView;

  const control: SimControl = {
    setNumberRule: (number, rule) => platform.numberRules.set(normalizeNumber(number), checkNumberRule(rule)),
    setDefaultRule: (rule) => {
      platform.defaultRule = checkNumberRule(rule);
    },
    addFault: (rule) => server.faults.add(checkFaultRule(rule)),
    setFaults: (rules) => server.faults.set(rules.map((r) => checkFaultRule(r))),
    clearFaults: () => server.faults.clear(),
    setRequestsPerMinute: (n) => {
      settings.requestsPerMinute = n;
    },
    setAnalyticsLagMs: (ms) => {
      settings.analyticsLagMs = ms;
    },
    setTokenLifetimeSeconds: (s) => {
      settings.tokenLifetimeSeconds = s;
    },
    setAgentCount: (queueId, count) => platform.setAgentCount(queueId, count),
    setQueueCapacity: (queueId, capacity) => platform.setQueueCapacity(queueId, capacity),
    configureQueue: (queueId, change) => platform.configureQueue(queueId, checkQueueChange(change)),
    setNotificationsEnabled: (enabled) => {
      server.notifications.enabled = enabled;
    },
    setForbiddenTopics: (topics) => {
      server.notifications.forbiddenTopics = [...topics];
    },
    closeNotificationSockets: () => server.notifications.closeSockets(),
    setSearchAllowed: (allowed) => {
      settings.searchAllowed = allowed;
    },
    setSearchLagMs: (ms) => {
      settings.searchLagMs = ms;
    },
    setRateLimitHeaders: (on) => {
      settings.rateLimitHeaders = on;
    },
    setResourceLimits: (limits) => {
      settings.resourceLimits = { ...limits };
    },
    setCarrierRejectsUnknownCallerId: (on) => {
      platform.carrierRejectsUnknownCallerId = on;
    },
    setTimings: (timings) => {
      platform.timings = { ...platform.timings, ...timings };
    },
    counters: () => server.countersSnapshot(),
    requestCount: (endpoint) => {
      const all = server.countersSnapshot();
      const sum = (m: Record<string, number> | undefined): number =>
        Object.values(m ?? {}).reduce((a, b) => a + b, 0);
      if (endpoint) return sum(all[endpoint]);
      return Object.values(all).reduce((a, m) => a + sum(m), 0);
    },
    resetCounters: () => server.resetCounters(),
    conversations: (filter) =>
      [...platform.conversations.values()]
        .filter((c) => filter?.callbackId === undefined || c.data['callbackId'] === filter.callbackId)
        .map(view),
    conversation: (id) => {
      const c = platform.conversations.get(id);
      return c ? view(c) : undefined;
    },
    supervisorReschedule: (id, change) => {
      const input: RescheduleInput = { conversationId: id };
      if (change.queueId !== undefined) input.queueId = change.queueId;
      if (change.callbackScheduledTime !== undefined) {
        input.scheduledMs = toMs(change.callbackScheduledTime);
      }
      platform.reschedule(input);
    },
    supervisorDisconnect: (id) => {
      platform.disconnect(id);
    },
    revokeTokens: () => server.revokeTokens(),
    reset: () => server.resetAll(),
    notificationsSent: () => server.notifications.sent,
  };

  return {
    url,
    get org() {
      return server.orgJson();
    },
    clock: scheduler,
    control,
    async close() {
      scheduler.stop();
      await server.close();
    },
  };
}
