/**
 * The platform model: queues with agents, callback conversations and their participants, and the
 * Architect-flow behaviour that dials the customer at the scheduled time. Everything here runs
 * on the simulator clock; the HTTP layer only translates requests into these calls.
 */
import { randomUUID } from 'node:crypto';
import type { Scheduler } from './clock.js';
import { ApiError, badRequest } from './errors.js';
import { maskNumber } from './mask.js';
import type { NumberRule, Outcome, SimOrgDef, SimQueueDef } from './org.js';
import type { Random } from './random.js';

export interface Ref {
  id: string;
  name?: string;
  selfUri: string;
}

/** A participant exactly as GET /api/v2/conversations/callbacks/{id} shows it (CallbackMediaParticipant). */
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

/**
 * Where a callback is in its life (the simulator's own bookkeeping; the wire only shows participants).
 * scheduled → waiting (due, no free agent yet) → offered (alerting an agent) → dialing → answered
 * (customer picked up, DTMF check if any) → talking (bridged to the agent) → ended.
 */
export type Phase = 'scheduled' | 'waiting' | 'offered' | 'dialing' | 'answered' | 'talking' | 'ended';

/** How a callback ended, for logs, counters and tests (never on the wire). */
export type EndReason =
  | 'completed'
  | 'noAnswer'
  | 'failedDtmf'
  | 'busy'
  | 'carrierRejected'
  | 'capacityRejected'
  | 'disconnectedByApi';

export interface SimConversation {
  id: string;
  seq: number;
  createdMs: number;
  queueId: string;
  callbackNumbers: string[];
  scheduledMs: number;
  data: Record<string, string>;
  callerId?: string;
  callerIdName?: string;
  callbackUserName?: string;
  priority: number;
  phase: Phase;
  endReason?: EndReason;
  /** Bumped whenever pending flow events must be ignored (reschedule, disconnect). */
  gen: number;
  agentId?: string;
  callbackIdentifier: string;
  customer: WireParticipant;
  acd: WireParticipant;
  agent?: WireParticipant;
  /** Snapshots by time, for the analytics lag. */
  versions: { atMs: number; json: WireConversation }[];
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

/** When a queue is "full" (a simulator knob: the real platform has no such limit, see README). */
export interface QueueCapacity {
  maxWaiting: number;
  /** `disconnect`: the create succeeds, then the callback is disconnected at once with an error;
   *  `refuse`: the create itself answers 400 `callback.capacity.exceeded`. */
  mode: 'disconnect' | 'refuse';
}

interface AgentRuntime {
  id: string;
  name: string;
  busyWith?: string;
}

interface QueueRuntime {
  def: SimQueueDef;
  agents: AgentRuntime[];
  capacity?: QueueCapacity;
}

/** Timings of the simulated flow, in seconds of simulator time. */
export interface FlowTimings {
  /** An offered callback alerts the agent this long before the agent accepts and the dial starts. */
  offerSeconds: number;
  /** Default ring time before an answering number picks up. */
  ringSeconds: number;
  /** How long a customer takes to key in the verification digit. */
  dtmfSeconds: number;
  /** Default talk time of an answered call. */
  talkSeconds: number;
  /** A busy number ends the dial after this long. */
  busySeconds: number;
  /** The carrier refuses a call with an unprovisioned caller id after this long. */
  carrierRejectSeconds: number;
  /** The answer-and-verify timeout when data.timeoutSeconds is absent or not a positive integer. */
  defaultTimeoutSeconds: number;
}

export const DEFAULT_TIMINGS: FlowTimings = {
  offerSeconds: 2,
  ringSeconds: 8,
  dtmfSeconds: 4,
  talkSeconds: 120,
  busySeconds: 3,
  carrierRejectSeconds: 1,
  defaultTimeoutSeconds: 300,
};

const iso = (ms: number): string => new Date(ms).toISOString();
const shortId = (id: string): string => id.slice(0, 8);
const isoShort = (ms: number): string => `${iso(ms).slice(11, 19)}Z`;

export function normalizeNumber(n: string): string {
  const digits = n.replace(/[^\d]/g, '');
  return n.trim().startsWith('+') ? `+${digits}` : digits;
}

export class Platform {
  readonly queues = new Map<string, QueueRuntime>();
  readonly conversations = new Map<string, SimConversation>();
  numberRules = new Map<string, NumberRule>();
  defaultRule: NumberRule;
  timings: FlowTimings = { ...DEFAULT_TIMINGS };
  private seq = 0;
  private readonly changeListeners: ((conv: SimConversation) => void)[] = [];

  constructor(
    readonly org: SimOrgDef,
    private readonly clock: Scheduler,
    private readonly random: Random,
    private readonly log: (line: string) => void,
  ) {
    this.defaultRule = org.defaultRule;
    this.resetState();
  }

  /** Forgets every conversation and restores the org's queues, agents and number rules. */
  resetState(): void {
    this.conversations.clear();
    this.queues.clear();
    for (const def of this.org.queues) {
      this.queues.set(def.id, { def, agents: def.agents.map((a) => ({ ...a })) });
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

  queueRef(queueId: string): Ref {
    const q = this.queues.get(queueId);
    return { id: queueId, name: q?.def.name ?? queueId, selfUri: `/api/v2/routing/queues/${queueId}` };
  }

  isProvisionedDid(number: string): boolean {
    const n = normalizeNumber(number);
    return this.org.dids.some((d) => normalizeNumber(d.phoneNumber) === n);
  }

  setQueueCapacity(queueId: string, capacity: QueueCapacity | undefined): void {
    const q = this.requireQueue(queueId);
    q.capacity = capacity;
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

  private requireQueue(queueId: string): QueueRuntime {
    const q = this.queues.get(queueId);
    if (!q) throw new ApiError(404, 'not.found', `Queue ${queueId} does not exist.`, { queueId });
    return q;
  }

  waitingCount(queueId: string): number {
    let n = 0;
    for (const c of this.conversations.values()) {
      if (
        c.queueId === queueId &&
        (c.phase === 'scheduled' || c.phase === 'waiting' || c.phase === 'offered')
      ) {
        n++;
      }
    }
    return n;
  }

  alertingCount(queueId: string): number {
    let n = 0;
    for (const c of this.conversations.values()) if (c.queueId === queueId && c.phase === 'offered') n++;
    return n;
  }

  observe(queueId: string): { waiting: number; interacting: number; idleAgents: number; busyAgents: number } {
    const q = this.queues.get(queueId);
    let interacting = 0;
    for (const c of this.conversations.values()) {
      if (
        c.queueId === queueId &&
        (c.phase === 'dialing' || c.phase === 'answered' || c.phase === 'talking')
      ) {
        interacting++;
      }
    }
    const busy = q ? q.agents.filter((a) => a.busyWith).length : 0;
    return {
      waiting: this.waitingCount(queueId),
      interacting,
      idleAgents: q ? q.agents.length - busy : 0,
      busyAgents: busy,
    };
  }

  // ---- callbacks -------------------------------------------------------------------------------

  createCallback(input: CreateInput): SimConversation {
    const queue = this.queues.get(input.queueId);
    if (!queue) {
      throw badRequest(`The queue ${input.queueId} does not exist or cannot take callbacks.`, {
        queueId: input.queueId,
      });
    }
    const full = queue.capacity && this.waitingCount(queue.def.id) >= queue.capacity.maxWaiting;
    if (full && queue.capacity?.mode === 'refuse') {
      throw new ApiError(
        400,
        'callback.capacity.exceeded',
        `The queue ${queue.def.name} cannot take more scheduled callbacks right now.`,
        { queueId: queue.def.id },
      );
    }
    const now = this.clock.now();
    const scheduledMs = input.scheduledMs ?? now;
    const id = randomUUID();
    const queueRef = this.queueRef(queue.def.id);
    const customer: WireParticipant = {
      id: randomUUID(),
      name: input.callbackUserName ?? 'Callback',
      address: input.callbackNumbers[0],
      startTime: iso(now),
      purpose: 'customer',
      state: 'none',
      direction: 'outbound',
      held: false,
      wrapupRequired: false,
      queue: queueRef,
      attributes: { ...input.data },
      provider: 'PureCloud',
      callbackNumbers: [...input.callbackNumbers],
      externalCampaign: false,
      skipEnabled: false,
      callbackScheduledTime: iso(scheduledMs),
    };
    if (input.callbackUserName !== undefined) customer.callbackUserName = input.callbackUserName;
    const acd: WireParticipant = {
      id: randomUUID(),
      name: queue.def.name,
      startTime: iso(now),
      connectedTime: iso(now),
      purpose: 'acd',
      state: 'connected',
      direction: 'inbound',
      held: false,
      wrapupRequired: false,
      queue: queueRef,
      attributes: {},
      provider: 'PureCloud',
    };
    const conv: SimConversation = {
      id,
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
      acd,
      versions: [],
    };
    if (input.callerId !== undefined) conv.callerId = input.callerId;
    if (input.callerIdName !== undefined) conv.callerIdName = input.callerIdName;
    if (input.callbackUserName !== undefined) conv.callbackUserName = input.callbackUserName;
    this.conversations.set(id, conv);
    this.say(conv, `created, due ${isoShort(scheduledMs)}${scheduledMs > now ? '' : ' (now)'}`);
    this.changed(conv);
    if (full) {
      // Accepted, then dropped by the platform: the create answer gave no hint of it.
      this.clock.schedule(now, `capacity ${id}`, () => {
        this.end(conv, 'capacityRejected', {
          disconnectType: 'error',
          errorInfo: {
            code: 'callback.capacity.exceeded',
            message: `The queue ${queue.def.name} cannot take more scheduled callbacks right now.`,
          },
        });
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
      conv.phase = 'waiting';
      const q = this.queues.get(conv.queueId);
      if (q) this.tryRoute(q);
      if (conv.phase === 'waiting') this.say(conv, 'due, waiting for a free agent');
    });
  }

  reschedule(input: RescheduleInput): SimConversation {
    const conv = this.conversations.get(input.conversationId);
    if (!conv) {
      throw new ApiError(404, 'not.found', `Conversation ${input.conversationId} was not found.`, {
        conversationId: input.conversationId,
      });
    }
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
    if (input.queueId !== undefined) {
      conv.queueId = input.queueId;
      conv.customer.queue = this.queueRef(input.queueId);
      conv.acd.queue = this.queueRef(input.queueId);
      conv.acd.name = this.queues.get(input.queueId)!.def.name;
    }
    if (input.callbackNumbers !== undefined) {
      conv.callbackNumbers = [...input.callbackNumbers];
      conv.customer.callbackNumbers = [...input.callbackNumbers];
      conv.customer.address = input.callbackNumbers[0];
    }
    if (input.scheduledMs !== undefined) {
      conv.scheduledMs = input.scheduledMs;
      conv.customer.callbackScheduledTime = iso(input.scheduledMs);
    }
    conv.phase = 'scheduled';
    this.say(conv, `rescheduled, due ${isoShort(conv.scheduledMs)}`);
    this.changed(conv);
    this.scheduleDue(conv);
    return conv;
  }

  /** PATCH {state: 'disconnected'}: ends the callback wherever it is; the API client is the cause. */
  disconnect(conversationId: string): SimConversation {
    const conv = this.conversations.get(conversationId);
    if (!conv) {
      throw new ApiError(404, 'not.found', `Conversation ${conversationId} was not found.`, {
        conversationId,
      });
    }
    if (conv.phase === 'ended') {
      throw badRequest('The conversation is already disconnected.', { conversationId });
    }
    this.end(conv, 'disconnectedByApi', { disconnectType: 'client' });
    return conv;
  }

  // ---- the flow --------------------------------------------------------------------------------

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

  private offer(conv: SimConversation, agent: AgentRuntime, q: QueueRuntime): void {
    const now = this.clock.now();
    agent.busyWith = conv.id;
    conv.agentId = agent.id;
    conv.phase = 'offered';
    conv.acd.state = 'disconnected';
    conv.acd.endTime = iso(now);
    conv.acd.disconnectType = 'transfer';
    conv.agent = {
      id: randomUUID(),
      name: agent.name,
      startTime: iso(now),
      startAlertingTime: iso(now),
      purpose: 'agent',
      state: 'alerting',
      direction: 'outbound',
      held: false,
      wrapupRequired: true,
      user: { id: agent.id, name: agent.name, selfUri: `/api/v2/users/${agent.id}` },
      queue: this.queueRef(q.def.id),
      attributes: {},
      provider: 'PureCloud',
    };
    this.say(conv, `offered to agent ${agent.name}`);
    this.changed(conv);
    const gen = conv.gen;
    this.clock.schedule(now + this.timings.offerSeconds * 1000, `dial ${conv.id}`, () => {
      if (conv.gen === gen && conv.phase === 'offered') this.dial(conv);
    });
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
    const raw = conv.data['timeoutSeconds'];
    if (raw !== undefined && /^\d{1,7}$/.test(raw.trim())) {
      const n = Number(raw.trim());
      if (n > 0) return n;
    }
    return this.timings.defaultTimeoutSeconds;
  }

  private dial(conv: SimConversation): void {
    const now = this.clock.now();
    const number = conv.callbackNumbers[0] ?? '';
    conv.phase = 'dialing';
    conv.customer.state = 'dialing';
    conv.customer.address = number;
    if (conv.agent) conv.agent.state = 'contacting';
    this.say(conv, `dialing ${maskNumber(number)}`);
    this.changed(conv);
    const gen = conv.gen;
    const at = (seconds: number, label: string, fn: () => void): void =>
      this.clock.schedule(now + seconds * 1000, `${label} ${conv.id}`, () => {
        if (conv.gen === gen && conv.phase !== 'ended') fn();
      });

    if (conv.callerId !== undefined && !this.isProvisionedDid(conv.callerId)) {
      at(this.timings.carrierRejectSeconds, 'carrier', () =>
        this.end(conv, 'carrierRejected', {
          disconnectType: 'error',
          errorInfo: {
            code: 'outbound.call.rejected',
            message: `The carrier rejected the call: caller id ${maskNumber(conv.callerId)} is not a number provisioned for this organization.`,
          },
        }),
      );
      return;
    }

    const rule = this.resolveRule(number);
    const timeout = this.timeoutSeconds(conv);
    const dtmf = conv.data['dtmf'];
    const verifies = dtmf !== undefined;
    const expire = (reason: EndReason): void => this.end(conv, reason, { disconnectType: 'system' });

    if (rule.outcome === 'busy') {
      at(this.timings.busySeconds, 'busy', () => this.end(conv, 'busy', { disconnectType: 'endpoint' }));
      return;
    }
    if (rule.outcome === 'noAnswer' || rule.ringSeconds >= timeout) {
      at(timeout, 'timeout', () => expire('noAnswer'));
      return;
    }
    at(rule.ringSeconds, 'answer', () => {
      conv.phase = 'answered';
      conv.customer.state = 'connected';
      conv.customer.connectedTime = iso(this.clock.now());
      this.say(conv, verifies ? 'customer answered, verifying DTMF' : 'customer answered');
      this.changed(conv);
    });
    // A digit the flow cannot check (not exactly one of 0-9, *, #) can never be entered correctly.
    const verifiable = !verifies || /^[0-9*#]$/.test(dtmf);
    if (verifies && (rule.outcome === 'failDtmf' || !verifiable)) {
      at(timeout, 'dtmf-timeout', () => expire('failedDtmf'));
      return;
    }
    const bridgeAfter = rule.ringSeconds + (verifies ? this.timings.dtmfSeconds : 0);
    if (bridgeAfter > timeout) {
      at(timeout, 'dtmf-timeout', () => expire('failedDtmf'));
      return;
    }
    at(bridgeAfter, 'bridge', () => {
      conv.phase = 'talking';
      if (conv.agent) {
        conv.agent.state = 'connected';
        conv.agent.connectedTime = iso(this.clock.now());
      }
      this.say(conv, `connected to agent ${conv.agent?.name ?? '?'}`);
      this.changed(conv);
    });
    at(bridgeAfter + rule.talkSeconds, 'hangup', () =>
      this.end(conv, 'completed', { disconnectType: 'endpoint' }),
    );
  }

  /** Ends every live participant; the customer leg carries the cause, the others follow. */
  private end(
    conv: SimConversation,
    reason: EndReason,
    how: { disconnectType: string; errorInfo?: { code: string; message: string } },
  ): void {
    const now = this.clock.now();
    const nowIso = iso(now);
    conv.gen++;
    const wasPhase = conv.phase;
    conv.phase = 'ended';
    conv.endReason = reason;
    const cust = conv.customer;
    if (cust.state !== 'disconnected') {
      cust.state = 'disconnected';
      cust.endTime = nowIso;
      cust.disconnectType = how.disconnectType;
      if (how.errorInfo) cust.errorInfo = how.errorInfo;
    }
    if (conv.acd.state !== 'disconnected') {
      conv.acd.state = 'disconnected';
      conv.acd.endTime = nowIso;
      conv.acd.disconnectType = reason === 'disconnectedByApi' ? 'client' : 'peer';
    }
    const agent = conv.agent;
    if (agent && agent.state !== 'disconnected') {
      agent.state = 'disconnected';
      agent.endTime = nowIso;
      agent.disconnectType = reason === 'disconnectedByApi' ? 'client' : 'peer';
      if (reason === 'completed') {
        const q = this.queues.get(conv.queueId);
        const wanted = conv.data['wrapUpCode'];
        const code =
          q?.def.wrapupCodes.find((w) => w.name === wanted || w.id === wanted) ?? q?.def.wrapupCodes[0];
        if (code) {
          agent.wrapup = { code: code.id, name: code.name, durationSeconds: 15, endTime: iso(now + 15_000) };
        }
      }
    }
    const label: Record<EndReason, string> = {
      completed: 'completed: customer talked to the agent',
      noAnswer: 'ended: no answer before the timeout',
      failedDtmf: 'ended: DTMF verification failed',
      busy: 'ended: number busy',
      carrierRejected: 'ended: carrier rejected the call (caller id not provisioned)',
      capacityRejected: 'ended: queue capacity exceeded',
      disconnectedByApi: `disconnected through the API (was ${wasPhase})`,
    };
    this.say(conv, label[reason]);
    this.changed(conv);
    const q = this.queues.get(conv.queueId);
    const busyAgent = q?.agents.find((a) => a.busyWith === conv.id);
    if (busyAgent) busyAgent.busyWith = undefined;
    if (q) this.tryRoute(q);
  }

  // ---- views -----------------------------------------------------------------------------------

  toWire(conv: SimConversation): WireConversation {
    const participants = [conv.customer, conv.acd, ...(conv.agent ? [conv.agent] : [])];
    const division = {
      id: this.org.divisionId,
      name: 'Home',
      selfUri: `/api/v2/authorization/divisions/${this.org.divisionId}`,
    };
    return structuredClone({
      id: conv.id,
      participants,
      otherMediaUris: [],
      divisions: [{ division, entities: [] }],
      selfUri: `/api/v2/conversations/callbacks/${conv.id}`,
    });
  }

  private changed(conv: SimConversation): void {
    const atMs = this.clock.now();
    const json = this.toWire(conv);
    const last = conv.versions[conv.versions.length - 1];
    if (last && last.atMs === atMs) last.json = json;
    else conv.versions.push({ atMs, json });
    for (const l of this.changeListeners) {
      try {
        l(conv);
      } catch {
        // A listener (a websocket gone away) must never break the platform model.
      }
    }
  }

  private say(conv: SimConversation, what: string): void {
    const q = this.queues.get(conv.queueId);
    this.log(
      `[sim ${isoShort(this.clock.now())}] callback ${shortId(conv.id)} ${q?.def.name ?? conv.queueId} ${maskNumber(conv.callbackNumbers[0])}: ${what}`,
    );
  }
}
