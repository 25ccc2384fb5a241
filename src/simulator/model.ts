/**
 * The platform model: queues with agents, callback conversations and the behaviour of the
 * queue's settings and flow. A callback conversation holds, as on the platform (GENESYS.md
 * "What a callback conversation looks like"), separate media: the customer's callback media
 * (scheduled, then connected until the callback ends), the ACD's callback media (connected while
 * the callback waits in queue), the agent's callback media (alerting, connected on accept,
 * outliving each call, then wrap-up) and one outbound voice leg per dial attempt, the customer's
 * side of it on a customer participant of its own. Everything runs on the simulator clock; the
 * HTTP layer only translates requests into these calls and views/analytics render the state.
 */
import { randomUUID } from 'node:crypto';
import type { Scheduler } from './clock.js';
import { ApiError, badRequest } from './errors.js';
import { maskNumber } from './mask.js';
import type {
  AttemptOutcome,
  FlowOutcomeName,
  NumberRule,
  Outcome,
  SimOrgDef,
  SimQueueDef,
  SimWrapupCode,
} from './org.js';
import type { Random } from './random.js';

/** SDK `DisconnectReason`: a protocol (q850, sip) and its code. */
export interface DisconnectReason {
  type: string;
  code: number;
  phrase: string;
}

/** One communication (a callback media or a call leg) of one participant. */
export interface SimMedia {
  id: string;
  state: string;
  initialState: string;
  direction: 'inbound' | 'outbound';
  startMs: number;
  alertingMs?: number;
  connectedMs?: number;
  endMs?: number;
  disconnectType?: string;
  disconnectReasons?: DisconnectReason[];
  errorInfo?: { code: string; message: string };
  /** The number called (call legs). */
  address?: string;
}

export interface SimWrapup {
  code: string;
  name: string;
  durationSeconds: number;
  endMs: number;
}

export interface SimParticipant {
  id: string;
  purpose: 'customer' | 'acd' | 'agent';
  name: string;
  address?: string;
  queueId: string;
  user?: { id: string; name: string };
  attributes: Record<string, string>;
  startMs: number;
  /** The callback media (absent on the customer participant that only holds a voice leg). */
  callback?: SimMedia;
  calls: SimMedia[];
  wrapup?: SimWrapup;
}

/**
 * Where a callback is in its life (the simulator's own bookkeeping; the wire shows media):
 * scheduled → waiting (due, no free agent) → offered (alerting an agent) → accepted (agent's
 * callback media connected, no call up) → dialing → answered (customer picked up, DTMF check if
 * any) → talking (bridged to the agent) → accepted (between attempts) … → ended.
 */
export type Phase =
  | 'scheduled'
  | 'waiting'
  | 'offered'
  | 'accepted'
  | 'dialing'
  | 'answered'
  | 'talking'
  | 'ended';

/** How a callback ended, for logs, counters and tests (never on the wire). */
export type EndReason =
  | 'completed'
  | 'noAnswer'
  | 'busy'
  | 'voicemail'
  | 'carrierFailure'
  /** The [guess]ed carrier refusal of a callerId that is none of the org's DIDs. */
  | 'carrierRejected'
  | 'failedDtmf'
  | 'timeout'
  | 'capacityRejected'
  | 'disconnectedByApi';

/** The state views and analytics render (a live conversation or a lagging snapshot of one). */
export interface ConvState {
  id: string;
  createdMs: number;
  queueId: string;
  callbackNumbers: string[];
  scheduledMs: number;
  callbackUserName?: string;
  callerId?: string;
  callerIdName?: string;
  phase: Phase;
  /** In creation order: the callback customer first, then ACD, agents and voice-only customers. */
  participants: SimParticipant[];
}

export interface SimConversation extends ConvState {
  seq: number;
  data: Record<string, string>;
  priority: number;
  endReason?: EndReason;
  /** Bumped whenever pending flow events must be ignored (reschedule, disconnect, end). */
  gen: number;
  agentId?: string;
  callbackIdentifier: string;
  /** The customer participant holding the callback media (its id is the ACD callback identifier). */
  customer: SimParticipant;
  acd: SimParticipant;
  agent?: SimParticipant;
  /** Voice attempts in this routing (reset when the agent reschedules). */
  attempts: number;
  /** Every attempt outcome so far, in order (for tests). */
  attemptOutcomes: AttemptOutcome[];
  /** How often an agent rescheduled it by hand. */
  agentReschedules: number;
  /** Segment properties indexed through POST /api/v2/analytics/conversations/{id}/details/properties,
   *  by sessionId. */
  properties: Map<string, { property: string; propertyType: string; value: string }[]>;
  /** Snapshots by time, for the analytics lag. */
  versions: { atMs: number; state: ConvState }[];
}

export interface CreateInput {
  queueId: string;
  callbackNumbers: string[];
  scheduledMs?: number;
  data: Record<string, string>;
  callerId?: string;
  callerIdName?: string;
  callbackUserName?: string;
  priority?: number;
}

export interface RescheduleInput {
  conversationId: string;
  queueId?: string;
  scheduledMs?: number;
  callbackNumbers?: string[];
}

/** When a queue's flow refuses new callbacks (an org's own flow logic, not a platform limit). */
export interface QueueCapacity {
  maxWaiting: number;
  /** Accepted for older callers and ignored: `refuse` once made the create answer an invented 400
   *  code; the platform has none, so every capacity refusal is now the flow's `capacity` outcome. */
  mode?: 'disconnect' | 'refuse';
}

interface AgentRuntime {
  id: string;
  name: string;
  busyWith?: string;
}

export interface QueueRuntime {
  def: SimQueueDef;
  agents: AgentRuntime[];
  capacity?: QueueCapacity;
}

/** Timings of the simulated agents, customers and carrier, in seconds of simulator time. */
export interface FlowTimings {
  /** An offered callback alerts the agent this long before the agent accepts it. */
  offerSeconds: number;
  /** Without auto dial: the agent dials this long after accepting (and between attempts). */
  agentDialSeconds: number;
  /** Without auto end: the agent ends the callback this long after the last call. */
  agentEndSeconds: number;
  /** Default ring time before an answering number picks up. */
  ringSeconds: number;
  /** A number that never answers rings this long before the call is given up. */
  noAnswerSeconds: number;
  /** How long a customer takes to key in the verification digit. */
  dtmfSeconds: number;
  /** Default talk time of an answered call. */
  talkSeconds: number;
  /** How long the agent listens to a voicemail greeting before hanging up. */
  voicemailSeconds: number;
  /** A busy number ends the dial after this long. */
  busySeconds: number;
  /** A carrier failure ends the dial after this long. */
  carrierRejectSeconds: number;
  /** The answer-and-verify timeout when the flow's attribute is absent or not a positive integer. */
  defaultTimeoutSeconds: number;
  /** After-call work the agent spends on the wrap-up. */
  wrapupSeconds: number;
}

export const DEFAULT_TIMINGS: FlowTimings = {
  offerSeconds: 2,
  agentDialSeconds: 3,
  agentEndSeconds: 5,
  ringSeconds: 8,
  noAnswerSeconds: 30,
  dtmfSeconds: 4,
  talkSeconds: 120,
  voicemailSeconds: 20,
  busySeconds: 3,
  carrierRejectSeconds: 1,
  defaultTimeoutSeconds: 300,
  wrapupSeconds: 15,
};

/** Attribute names the simulated Architect flow reads from the create's `data`. */
export const FLOW_ATTRIBUTES = {
  dtmf: 'dtmf',
  /** GENESYS.md: not `timeoutSeconds` (the platform's own field); the legacy name is still read. */
  timeout: 'verifyTimeoutSeconds',
  legacyTimeout: 'timeoutSeconds',
  wrapUpCode: 'wrapUpCode',
} as const;

/** Q.850 causes a carrier reports (ITU-T Q.850); which ones Genesys surfaces when is a [guess]. */
const Q850 = {
  busy: { type: 'q850', code: 17, phrase: 'User busy' },
  noAnswer: { type: 'q850', code: 19, phrase: 'No answer from user (user alerted)' },
  rejected: { type: 'q850', code: 21, phrase: 'Call rejected' },
  networkDown: { type: 'q850', code: 38, phrase: 'Network out of order' },
} satisfies Record<string, DisconnectReason>;

const iso = (ms: number): string => new Date(ms).toISOString();
const shortId = (id: string): string => id.slice(0, 8);
const isoShort = (ms: number): string => `${iso(ms).slice(11, 19)}Z`;

export function normalizeNumber(n: string): string {
  const digits = n.replace(/[^\d]/g, '');
  return n.trim().startsWith('+') ? `+${digits}` : digits;
}

const live = (m: SimMedia | undefined): m is SimMedia => m !== undefined && m.state !== 'disconnected';

function hangUp(
  m: SimMedia | undefined,
  at: number,
  disconnectType: string,
  reasons?: DisconnectReason[],
): void {
  if (!live(m)) return;
  m.state = 'disconnected';
  m.endMs = at;
  m.disconnectType = disconnectType;
  if (reasons) m.disconnectReasons = reasons;
}

function media(state: string, direction: 'inbound' | 'outbound', startMs: number): SimMedia {
  return { id: randomUUID(), state, initialState: state, direction, startMs };
}

export class Platform {
  readonly queues = new Map<string, QueueRuntime>();
  readonly conversations = new Map<string, SimConversation>();
  numberRules = new Map<string, NumberRule>();
  defaultRule: NumberRule;
  timings: FlowTimings = { ...DEFAULT_TIMINGS };
  carrierRejectsUnknownCallerId: boolean;
  private seq = 0;
  private readonly changeListeners: ((conv: SimConversation) => void)[] = [];

  constructor(
    readonly org: SimOrgDef,
    private readonly clock: Scheduler,
    private readonly random: Random,
    private readonly log: (line: string) => void,
  ) {
    this.defaultRule = org.defaultRule;
    this.carrierRejectsUnknownCallerId = org.carrierRejectsUnknownCallerId;
    this.resetState();
  }

  /** Forgets every conversation and restores the org's queues, agents and number rules. */
  resetState(): void {
    this.conversations.clear();
    this.queues.clear();
    for (const def of this.org.queues) {
      this.queues.set(def.id, { def: structuredClone(def), agents: def.agents.map((a) => ({ ...a })) });
    }
    this.numberRules = new Map(
      Object.entries(this.org.numberRules).map(([n, r]) => [normalizeNumber(n), r] as const),
    );
    this.defaultRule = this.org.defaultRule;
    this.timings = { ...DEFAULT_TIMINGS };
    this.seq = 0;
  }

  onChange(listener: (conv: SimConversation) => void): void {
    this.changeListeners.push(listener);
  }

  queueName(queueId: string): string {
    return this.queues.get(queueId)?.def.name ?? queueId;
  }

  isProvisionedDid(number: string): boolean {
    const n = normalizeNumber(number);
    return this.org.dids.some((d) => normalizeNumber(d.phoneNumber) === n);
  }

  setQueueCapacity(queueId: string, capacity: QueueCapacity | undefined): void {
    this.requireQueue(queueId).capacity = capacity;
  }

  /** Changes a queue's callback settings, flow outcomes or agent behaviour (GET queue shows them). */
  configureQueue(
    queueId: string,
    change: Partial<Pick<SimQueueDef, 'callback' | 'flow' | 'agentWrapUps' | 'agentOnUnreached'>>,
  ): void {
    const q = this.requireQueue(queueId);
    if (change.callback) q.def.callback = { ...q.def.callback, ...change.callback };
    if (change.flow) q.def.flow = { ...q.def.flow, ...change.flow };
    if (change.agentWrapUps) q.def.agentWrapUps = { ...q.def.agentWrapUps, ...change.agentWrapUps };
    if (change.agentOnUnreached) q.def.agentOnUnreached = change.agentOnUnreached;
  }

  /** Sets how many agents staff the queue (each takes one callback at a time). */
  setAgentCount(queueId: string, count: number): void {
    const q = this.requireQueue(queueId);
    if (!Number.isInteger(count) || count < 0 || count > 1000) {
      throw badRequest('Agent count must be an integer from 0 to 1000.');
    }
    while (q.agents.length > count) {
      const idx = q.agents.findLastIndex((a) => !a.busyWith);
      // Busy agents finish their callback first; only idle ones can be sent home right away.
      if (idx < 0) break;
      q.agents.splice(idx, 1);
    }
    while (q.agents.length < count) {
      const n = q.agents.length + 1;
      q.agents.push({
        id: `${q.def.id.slice(0, 24)}${String(n).padStart(12, '0')}`,
        name: `${q.def.name} agent ${n}`,
      });
    }
    this.tryRoute(q);
  }

  requireQueue(queueId: string): QueueRuntime {
    const q = this.queues.get(queueId);
    if (!q) throw new ApiError(404, 'not.found', `Queue ${queueId} does not exist.`, { queueId });
    return q;
  }

  private count(queueId: string, phases: Phase[]): number {
    let n = 0;
    for (const c of this.conversations.values()) if (c.queueId === queueId && phases.includes(c.phase)) n++;
    return n;
  }

  waitingCount(queueId: string): number {
    return this.count(queueId, ['scheduled', 'waiting', 'offered']);
  }

  alertingCount(queueId: string): number {
    return this.count(queueId, ['offered']);
  }

  observe(queueId: string): { waiting: number; interacting: number; idleAgents: number; busyAgents: number } {
    const q = this.queues.get(queueId);
    const busy = q ? q.agents.filter((a) => a.busyWith).length : 0;
    return {
      waiting: this.waitingCount(queueId),
      interacting: this.count(queueId, ['accepted', 'dialing', 'answered', 'talking']),
      idleAgents: q ? q.agents.length - busy : 0,
      busyAgents: busy,
    };
  }

  // ---- callbacks -------------------------------------------------------------------------------

  private newAcd(conv: SimConversation, at: number): SimParticipant {
    const acd: SimParticipant = {
      id: randomUUID(),
      purpose: 'acd',
      name: this.queueName(conv.queueId),
      queueId: conv.queueId,
      attributes: {},
      startMs: at,
      // The ACD's callback media is connected while the callback waits in queue [code].
      callback: { ...media('connected', 'inbound', at), connectedMs: at },
      calls: [],
    };
    conv.participants.push(acd);
    conv.acd = acd;
    return acd;
  }

  createCallback(input: CreateInput): SimConversation {
    const queue = this.queues.get(input.queueId);
    if (!queue) {
      throw badRequest(`The queue ${input.queueId} does not exist or cannot take callbacks.`, {
        queueId: input.queueId,
      });
    }
    const full = queue.capacity !== undefined && this.waitingCount(queue.def.id) >= queue.capacity.maxWaiting;
    const now = this.clock.now();
    const scheduledMs = input.scheduledMs ?? now;
    const customer: SimParticipant = {
      id: randomUUID(),
      purpose: 'customer',
      name: input.callbackUserName ?? 'Callback',
      address: input.callbackNumbers[0],
      queueId: queue.def.id,
      attributes: { ...input.data },
      startMs: now,
      callback: media('scheduled', 'outbound', now),
      calls: [],
    };
    const conv = {
      id: randomUUID(),
      seq: this.seq++,
      createdMs: now,
      queueId: queue.def.id,
      callbackNumbers: [...input.callbackNumbers],
      scheduledMs,
      data: { ...input.data },
      priority: input.priority ?? 0,
      phase: 'scheduled',
      gen: 0,
      callbackIdentifier: customer.id,
      customer,
      participants: [customer],
      attempts: 0,
      attemptOutcomes: [],
      agentReschedules: 0,
      properties: new Map(),
      versions: [],
    } as unknown as SimConversation;
    this.newAcd(conv, now);
    if (input.callerId !== undefined) conv.callerId = input.callerId;
    if (input.callerIdName !== undefined) conv.callerIdName = input.callerIdName;
    if (input.callbackUserName !== undefined) conv.callbackUserName = input.callbackUserName;
    this.conversations.set(conv.id, conv);
    this.say(conv, `created, due ${isoShort(scheduledMs)}${scheduledMs > now ? '' : ' (now)'}`);
    this.changed(conv);
    if (full) {
      // The create answer gave no hint: the queue's own flow refuses the callback right after.
      this.clock.schedule(now, `capacity ${conv.id}`, () => {
        if (conv.phase !== 'ended') this.flowEnd(conv, 'capacity');
      });
    } else {
      this.scheduleDue(conv);
    }
    return conv;
  }

  private scheduleDue(conv: SimConversation): void {
    const gen = conv.gen;
    this.clock.schedule(conv.scheduledMs, `due ${conv.id}`, () => {
      if (conv.gen !== gen || conv.phase !== 'scheduled') return;
      const now = this.clock.now();
      conv.phase = 'waiting';
      const cb = conv.customer.callback!;
      cb.state = 'connected';
      cb.connectedMs = now;
      this.changed(conv);
      const q = this.queues.get(conv.queueId);
      if (q) this.tryRoute(q);
      if (conv.phase === 'waiting') this.say(conv, 'due, waiting for a free agent');
    });
  }

  private requireConv(conversationId: string): SimConversation {
    const conv = this.conversations.get(conversationId);
    if (!conv) {
      throw new ApiError(404, 'not.found', `Conversation ${conversationId} was not found.`, {
        conversationId,
      });
    }
    return conv;
  }

  reschedule(input: RescheduleInput): SimConversation {
    const conv = this.requireConv(input.conversationId);
    if (conv.phase === 'ended') {
      throw badRequest('The callback has ended and can no longer be rescheduled.', {
        conversationId: conv.id,
      });
    }
    if (conv.phase !== 'scheduled' && conv.phase !== 'waiting') {
      throw badRequest('The callback has already been routed to an agent and can no longer be rescheduled.', {
        conversationId: conv.id,
      });
    }
    if (input.queueId !== undefined && !this.queues.has(input.queueId)) {
      throw badRequest(`The queue ${input.queueId} does not exist or cannot take callbacks.`, {
        queueId: input.queueId,
      });
    }
    conv.gen++;
    if (input.queueId !== undefined && input.queueId !== conv.queueId) {
      conv.queueId = input.queueId;
      conv.customer.queueId = input.queueId;
      const now = this.clock.now();
      hangUp(conv.acd.callback, now, 'transfer');
      this.newAcd(conv, now);
    }
    if (input.callbackNumbers !== undefined) {
      conv.callbackNumbers = [...input.callbackNumbers];
      conv.customer.address = input.callbackNumbers[0];
    }
    if (input.scheduledMs !== undefined) conv.scheduledMs = input.scheduledMs;
    this.backToScheduled(conv);
    this.say(conv, `rescheduled, due ${isoShort(conv.scheduledMs)}`);
    this.changed(conv);
    this.scheduleDue(conv);
    return conv;
  }

  private backToScheduled(conv: SimConversation): void {
    conv.phase = 'scheduled';
    const cb = conv.customer.callback!;
    cb.state = 'scheduled';
    delete cb.connectedMs;
  }

  /** PATCH {state: 'disconnected'}: ends the callback wherever it is; the API client is the cause. */
  disconnect(conversationId: string): SimConversation {
    const conv = this.requireConv(conversationId);
    if (conv.phase === 'ended')
      throw badRequest('The conversation is already disconnected.', { conversationId });
    this.finish(conv, 'disconnectedByApi', { customer: 'client', others: 'client' });
    return conv;
  }

  /** POST …/analytics/conversations/{id}/details/properties: index segment properties of a session. */
  indexProperties(
    conversationId: string,
    sessionId: string,
    properties: { property: string; propertyType: string; value: string }[],
  ): void {
    const conv = this.requireConv(conversationId);
    const prior = conv.properties.get(sessionId) ?? [];
    const merged = new Map(prior.map((p) => [p.property, p]));
    for (const p of properties) merged.set(p.property, p);
    conv.properties.set(sessionId, [...merged.values()]);
  }

  // ---- routing and the agent -------------------------------------------------------------------

  private tryRoute(q: QueueRuntime): void {
    for (;;) {
      const agent = q.agents.find((a) => !a.busyWith);
      if (!agent) return;
      let next: SimConversation | undefined;
      for (const c of this.conversations.values()) {
        if (c.queueId !== q.def.id || c.phase !== 'waiting') continue;
        if (
          !next ||
          c.priority > next.priority ||
          (c.priority === next.priority &&
            (c.scheduledMs < next.scheduledMs || (c.scheduledMs === next.scheduledMs && c.seq < next.seq)))
        ) {
          next = c;
        }
      }
      if (!next) return;
      this.offer(next, agent, q);
    }
  }

  private at(conv: SimConversation, seconds: number, label: string, fn: () => void): void {
    const gen = conv.gen;
    this.clock.schedule(this.clock.now() + seconds * 1000, `${label} ${conv.id}`, () => {
      if (conv.gen === gen && conv.phase !== 'ended') fn();
    });
  }

  private offer(conv: SimConversation, agent: AgentRuntime, q: QueueRuntime): void {
    const now = this.clock.now();
    agent.busyWith = conv.id;
    conv.agentId = agent.id;
    conv.phase = 'offered';
    conv.attempts = 0;
    hangUp(conv.acd.callback, now, 'transfer');
    const agentP: SimParticipant = {
      id: randomUUID(),
      purpose: 'agent',
      name: agent.name,
      queueId: q.def.id,
      user: { id: agent.id, name: agent.name },
      attributes: {},
      startMs: now,
      callback: { ...media('alerting', 'outbound', now), alertingMs: now },
      calls: [],
    };
    conv.participants.push(agentP);
    conv.agent = agentP;
    this.say(conv, `offered to agent ${agent.name}`);
    this.changed(conv);
    this.at(conv, this.timings.offerSeconds, 'accept', () => this.accept(conv, q));
  }

  private accept(conv: SimConversation, q: QueueRuntime): void {
    const cb = conv.agent!.callback!;
    cb.state = 'connected';
    cb.connectedMs = this.clock.now();
    conv.phase = 'accepted';
    this.say(conv, 'accepted by the agent');
    this.changed(conv);
    const s = q.def.callback;
    this.at(
      conv,
      s.enableAutoDialAndEnd ? s.autoDialDelaySeconds : this.timings.agentDialSeconds,
      'dial',
      () => this.dial(conv),
    );
  }

  private resolveRule(number: string): { outcome: Outcome; ringSeconds: number; talkSeconds: number } {
    const rule = this.numberRules.get(normalizeNumber(number)) ?? this.defaultRule;
    let outcome: Outcome;
    if (rule.outcome === 'random') {
      const entries = Object.entries(rule.weights).filter(([, w]) => typeof w === 'number' && w > 0) as [
        Outcome,
        number,
      ][];
      const total = entries.reduce((s, [, w]) => s + w, 0);
      let draw = this.random.next() * total;
      outcome = entries[entries.length - 1]?.[0] ?? 'answer';
      for (const [o, w] of entries) {
        if (draw < w) {
          outcome = o;
          break;
        }
        draw -= w;
      }
    } else {
      outcome = rule.outcome;
    }
    return {
      outcome,
      ringSeconds: rule.ringSeconds ?? this.timings.ringSeconds,
      talkSeconds: rule.talkSeconds ?? this.timings.talkSeconds,
    };
  }

  private timeoutSeconds(conv: SimConversation): number {
    const raw = conv.data[FLOW_ATTRIBUTES.timeout] ?? conv.data[FLOW_ATTRIBUTES.legacyTimeout];
    if (raw !== undefined && /^\d{1,7}$/.test(raw.trim())) {
      const n = Number(raw.trim());
      if (n > 0) return n;
    }
    return this.timings.defaultTimeoutSeconds;
  }

  /** One outbound voice attempt: the agent's call leg and the customer's, on a participant of its own. */
  private dial(conv: SimConversation): void {
    const now = this.clock.now();
    // Attempts go through the callback numbers in turn (which number a retry uses is a [guess]).
    const number = conv.callbackNumbers[conv.attempts % conv.callbackNumbers.length] ?? '';
    conv.attempts++;
    conv.phase = 'dialing';
    const agentLeg: SimMedia = { ...media('contacting', 'outbound', now), address: number };
    conv.agent!.calls.push(agentLeg);
    const custLeg: SimMedia = { ...media('dialing', 'outbound', now), address: number };
    const voiceCustomer: SimParticipant = {
      id: randomUUID(),
      purpose: 'customer',
      name: conv.callbackUserName ?? 'Customer',
      address: number,
      queueId: conv.queueId,
      attributes: {},
      startMs: now,
      calls: [custLeg],
    };
    conv.participants.push(voiceCustomer);
    this.say(conv, `dialing ${maskNumber(number)} (attempt ${conv.attempts})`);
    this.changed(conv);

    const legs = { agentLeg, custLeg };
    if (
      this.carrierRejectsUnknownCallerId &&
      conv.callerId !== undefined &&
      !this.isProvisionedDid(conv.callerId)
    ) {
      this.at(conv, this.timings.carrierRejectSeconds, 'carrier', () =>
        this.attemptEnded(conv, 'carrierFailure', legs, {
          customer: 'error',
          agent: 'peer',
          reasons: [Q850.rejected],
          endReason: 'carrierRejected',
        }),
      );
      return;
    }
    const rule = this.resolveRule(number);
    const timeout = this.timeoutSeconds(conv);
    const dtmf = conv.data[FLOW_ATTRIBUTES.dtmf];
    const verifies = dtmf !== undefined;
    const flowTimeout = (): void => this.flowEnd(conv, 'timeout');

    if (rule.outcome === 'carrierFailure') {
      this.at(conv, this.timings.carrierRejectSeconds, 'carrier', () =>
        this.attemptEnded(conv, 'carrierFailure', legs, {
          customer: 'error',
          agent: 'peer',
          reasons: [Q850.networkDown],
        }),
      );
      return;
    }
    if (rule.outcome === 'busy') {
      this.at(conv, this.timings.busySeconds, 'busy', () =>
        this.attemptEnded(conv, 'busy', legs, { customer: 'endpoint', agent: 'peer', reasons: [Q850.busy] }),
      );
      return;
    }
    const ringsOut = rule.outcome === 'noAnswer' || rule.ringSeconds >= this.timings.noAnswerSeconds;
    const ringFor = ringsOut ? this.timings.noAnswerSeconds : rule.ringSeconds;
    if (ringFor >= timeout) {
      this.at(conv, timeout, 'timeout', flowTimeout);
      return;
    }
    if (ringsOut) {
      const auto = this.queueDef(conv).callback.enableAutoDialAndEnd;
      this.at(conv, ringFor, 'no-answer', () =>
        this.attemptEnded(conv, 'noAnswer', legs, {
          customer: 'peer',
          agent: auto ? 'system' : 'client',
          reasons: [Q850.noAnswer],
        }),
      );
      return;
    }
    this.at(conv, ringFor, 'answer', () => {
      conv.phase = 'answered';
      custLeg.state = 'connected';
      custLeg.connectedMs = this.clock.now();
      this.say(conv, verifies ? 'answered, verifying DTMF' : 'answered');
      this.changed(conv);
    });
    // A digit the flow cannot check (not exactly one of 0-9, *, #) can never be entered correctly;
    // nor can a voicemail greeting key one.
    const verifiable = !verifies || (/^[0-9*#]$/.test(dtmf) && rule.outcome !== 'voicemail');
    if (verifies && (rule.outcome === 'failDtmf' || !verifiable)) {
      this.at(conv, timeout, 'dtmf-failed', () => this.flowEnd(conv, 'failedDtmf'));
      return;
    }
    const bridgeAfter = ringFor + (verifies ? this.timings.dtmfSeconds : 0);
    if (bridgeAfter > timeout) {
      this.at(conv, timeout, 'timeout', flowTimeout);
      return;
    }
    this.at(conv, bridgeAfter, 'bridge', () => {
      conv.phase = 'talking';
      agentLeg.state = 'connected';
      agentLeg.connectedMs = this.clock.now();
      this.say(conv, `connected to agent ${conv.agent?.name ?? '?'}`);
      this.changed(conv);
    });
    if (rule.outcome === 'voicemail') {
      // Voicemail picks up like a person (connectedTime, talk time); only the agent's wrap-up tells.
      this.at(conv, bridgeAfter + this.timings.voicemailSeconds, 'voicemail', () =>
        this.attemptEnded(conv, 'voicemail', legs, { customer: 'peer', agent: 'client' }),
      );
      return;
    }
    this.at(conv, bridgeAfter + rule.talkSeconds, 'hangup', () =>
      this.attemptEnded(conv, 'answered', legs, { customer: 'endpoint', agent: 'peer' }),
    );
  }

  private queueDef(conv: SimConversation): SimQueueDef {
    return this.requireQueue(conv.queueId).def;
  }

  private wrapupCode(q: SimQueueDef, name: string | undefined): SimWrapupCode | undefined {
    if (name === undefined) return undefined;
    return q.wrapupCodes.find((w) => w.name === name || w.id === name);
  }

  /** A voice attempt ended: retry (auto dial and end), let the agent reschedule, or end the callback. */
  private attemptEnded(
    conv: SimConversation,
    outcome: AttemptOutcome,
    legs: { agentLeg: SimMedia; custLeg: SimMedia },
    how: { customer: string; agent: string; reasons?: DisconnectReason[]; endReason?: EndReason },
  ): void {
    const now = this.clock.now();
    hangUp(legs.custLeg, now, how.customer, how.reasons);
    hangUp(legs.agentLeg, now, how.agent);
    conv.attemptOutcomes.push(outcome);
    conv.phase = 'accepted';
    this.say(conv, `call ended: ${outcome}`);
    this.changed(conv);
    const q = this.queueDef(conv);
    const auto = q.callback.enableAutoDialAndEnd;
    if (outcome !== 'answered' && auto && conv.attempts <= q.callback.maxRetryCount) {
      this.at(conv, q.callback.retryDelaySeconds, 'retry', () => this.dial(conv));
      return;
    }
    const wanted =
      outcome === 'answered'
        ? (this.wrapupCode(q, conv.data[FLOW_ATTRIBUTES.wrapUpCode]) ??
          this.wrapupCode(q, q.agentWrapUps.answered))
        : this.wrapupCode(q, q.agentWrapUps[outcome]);
    const code = wanted ?? q.wrapupCodes[0];
    if (outcome !== 'answered' && !auto && q.agentOnUnreached.action === 'reschedule') {
      const delay = q.agentOnUnreached.delaySeconds;
      this.at(conv, this.timings.agentEndSeconds, 'agent-reschedule', () =>
        this.agentReschedule(conv, code, delay),
      );
      return;
    }
    const reason: EndReason = how.endReason ?? (outcome === 'answered' ? 'completed' : outcome);
    this.at(conv, auto ? q.callback.autoEndDelaySeconds : this.timings.agentEndSeconds, 'end', () =>
      this.finish(conv, reason, { customer: 'peer', others: auto ? 'system' : 'client', wrapup: code }),
    );
  }

  /** The agent reschedules the callback by hand: its media ends with a wrap-up, the callback waits again. */
  private agentReschedule(
    conv: SimConversation,
    code: SimWrapupCode | undefined,
    delaySeconds: number,
  ): void {
    const now = this.clock.now();
    conv.gen++;
    const agent = conv.agent!;
    hangUp(agent.callback, now, 'client');
    if (code) agent.wrapup = this.wrapup(code, now);
    this.releaseAgent(conv);
    conv.agent = undefined;
    conv.agentId = undefined;
    conv.agentReschedules++;
    conv.scheduledMs = now + delaySeconds * 1000;
    this.backToScheduled(conv);
    this.newAcd(conv, now);
    this.say(conv, `rescheduled by the agent, due ${isoShort(conv.scheduledMs)}`);
    this.changed(conv);
    this.scheduleDue(conv);
    const q = this.queues.get(conv.queueId);
    if (q) this.tryRoute(q);
  }

  private wrapup(code: SimWrapupCode, at: number): SimWrapup {
    const secs = this.timings.wrapupSeconds;
    return { code: code.id, name: code.name, durationSeconds: secs, endMs: at + secs * 1000 };
  }

  /** The queue's flow ends the callback (capacity refusal, failed DTMF, answer-and-verify timeout). */
  private flowEnd(conv: SimConversation, outcome: FlowOutcomeName): void {
    const q = this.queueDef(conv);
    const fo = q.flow[outcome];
    const code = this.wrapupCode(q, fo.wrapUpCode);
    const reason: EndReason = outcome === 'capacity' ? 'capacityRejected' : outcome;
    this.finish(conv, reason, { customer: fo.disconnectType, others: 'peer', wrapup: code, byFlow: true });
  }

  /** Ends every live medium; the cause's disconnectType goes to the customer's media, `others` to the rest. */
  private finish(
    conv: SimConversation,
    reason: EndReason,
    how: { customer: string; others: string; wrapup?: SimWrapupCode | undefined; byFlow?: boolean },
  ): void {
    const now = this.clock.now();
    conv.gen++;
    const wasPhase = conv.phase;
    conv.phase = 'ended';
    conv.endReason = reason;
    for (const p of conv.participants) {
      const type = p.purpose === 'customer' ? how.customer : how.others;
      hangUp(p.callback, now, type);
      for (const leg of p.calls) hangUp(leg, now, type);
    }
    if (how.wrapup) {
      // A flow's wrap-up lands on the participant it runs for when no agent has the callback.
      const target = conv.agent ?? (how.byFlow ? conv.customer : undefined);
      if (target) target.wrapup = this.wrapup(how.wrapup, now);
    }
    const label: Record<EndReason, string> = {
      completed: 'completed: customer talked to the agent',
      noAnswer: 'ended: no answer',
      busy: 'ended: number busy',
      voicemail: 'ended: voicemail',
      carrierFailure: 'ended: the carrier failed the call',
      carrierRejected: 'ended: the carrier refused the caller id (not one of the DIDs)',
      failedDtmf: 'ended by the flow: DTMF verification failed',
      timeout: 'ended by the flow: answer-and-verify timeout',
      capacityRejected: 'ended by the flow: queue capacity',
      disconnectedByApi: `disconnected through the API (was ${wasPhase})`,
    };
    this.say(conv, label[reason]);
    this.changed(conv);
    this.releaseAgent(conv);
    const q = this.queues.get(conv.queueId);
    if (q) this.tryRoute(q);
  }

  private releaseAgent(conv: SimConversation): void {
    const q = this.queues.get(conv.queueId);
    const busyAgent = q?.agents.find((a) => a.busyWith === conv.id);
    if (busyAgent) busyAgent.busyWith = undefined;
  }

  // ---- bookkeeping -----------------------------------------------------------------------------

  /** A deep copy of what views render, so a lagging snapshot never changes under analytics. */
  snapshot(conv: SimConversation): ConvState {
    const s: ConvState = {
      id: conv.id,
      createdMs: conv.createdMs,
      queueId: conv.queueId,
      callbackNumbers: [...conv.callbackNumbers],
      scheduledMs: conv.scheduledMs,
      phase: conv.phase,
      participants: structuredClone(conv.participants),
    };
    if (conv.callbackUserName !== undefined) s.callbackUserName = conv.callbackUserName;
    if (conv.callerId !== undefined) s.callerId = conv.callerId;
    if (conv.callerIdName !== undefined) s.callerIdName = conv.callerIdName;
    return s;
  }

  private changed(conv: SimConversation): void {
    const atMs = this.clock.now();
    const state = this.snapshot(conv);
    const last = conv.versions[conv.versions.length - 1];
    if (last && last.atMs === atMs) last.state = state;
    else conv.versions.push({ atMs, state });
    for (const l of this.changeListeners) {
      try {
        l(conv);
      } catch {
        // A listener (a websocket gone away) must never break the platform model.
      }
    }
  }

  private say(conv: SimConversation, what: string): void {
    this.log(
      `[sim ${isoShort(this.clock.now())}] callback ${shortId(conv.id)} ${this.queueName(conv.queueId)} ${maskNumber(conv.callbackNumbers[0])}: ${what}`,
    );
  }
}
