/**
 * Fault injection by endpoint and rate, drawn from the seeded PRNG so a run is reproducible.
 * - latency: the answer is delayed by latencyMs (wall time: it is latency on the wire);
 * - error: answers `status` (a 5xx, default 503; or 429 with Retry-After: retryAfterSeconds, a
 *   rate-limit storm that needs no real traffic) without touching any state;
 * - reset: the connection is destroyed before the request takes effect;
 * - commitNoAnswer: the request takes effect (a create creates), then the connection is destroyed
 *   so the client never hears the answer.
 */
import type { Random } from './random.js';

export type FaultKind = 'latency' | 'error' | 'reset' | 'commitNoAnswer';

export interface FaultRule {
  /** An endpoint name (see ENDPOINTS) or '*' for every platform endpoint. */
  endpoint: string;
  kind: FaultKind;
  /** Probability per matching request, 0..1 (default 1). */
  rate?: number;
  latencyMs?: number;
  status?: number;
  /** Retry-After of an injected 429 (default 1). */
  retryAfterSeconds?: number;
  /** Stop after this many injections (default: unlimited). */
  times?: number;
}

export interface FaultDecision {
  latencyMs: number;
  terminal?:
    | { kind: 'error'; status: number; retryAfterSeconds?: number }
    | { kind: 'reset' }
    | { kind: 'commitNoAnswer' };
}

const KINDS: FaultKind[] = ['latency', 'error', 'reset', 'commitNoAnswer'];

export function checkFaultRule(rule: unknown): FaultRule {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    throw new Error('A fault rule must be an object {endpoint, kind, rate?, latencyMs?, status?, times?}.');
  }
  const r = rule as Record<string, unknown>;
  if (typeof r['endpoint'] !== 'string' || r['endpoint'] === '') {
    throw new Error("A fault rule needs endpoint: an endpoint name or '*'.");
  }
  if (!KINDS.includes(r['kind'] as FaultKind)) {
    throw new Error(`A fault rule's kind must be one of ${KINDS.join(', ')}.`);
  }
  const rate = r['rate'] ?? 1;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
    throw new Error('A fault rule rate must be a number from 0 to 1.');
  }
  const out: FaultRule = { endpoint: r['endpoint'], kind: r['kind'] as FaultKind, rate };
  if (r['kind'] === 'latency') {
    const ms = r['latencyMs'];
    if (typeof ms !== 'number' || !(ms >= 0 && ms <= 120_000)) {
      throw new Error('A latency fault needs latencyMs from 0 to 120000.');
    }
    out.latencyMs = ms;
  }
  if (r['kind'] === 'error') {
    const status = r['status'] ?? 503;
    if (
      typeof status !== 'number' ||
      !Number.isInteger(status) ||
      ((status < 500 || status > 599) && status !== 429)
    ) {
      throw new Error('An error fault status must be an integer 5xx code (default 503) or 429.');
    }
    out.status = status;
    if (status === 429) {
      const after = r['retryAfterSeconds'] ?? 1;
      if (typeof after !== 'number' || !Number.isInteger(after) || after < 0 || after > 3600) {
        throw new Error('A 429 fault retryAfterSeconds must be an integer from 0 to 3600 (default 1).');
      }
      out.retryAfterSeconds = after;
    }
  }
  if (r['times'] !== undefined) {
    if (typeof r['times'] !== 'number' || !Number.isInteger(r['times']) || r['times'] < 1) {
      throw new Error('A fault rule times must be a positive integer.');
    }
    out.times = r['times'];
  }
  return out;
}

export class Faults {
  private rules: { rule: FaultRule; used: number }[] = [];

  constructor(private readonly random: Random) {}

  set(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => ({ rule, used: 0 }));
  }

  add(rule: FaultRule): void {
    this.rules.push({ rule, used: 0 });
  }

  list(): (FaultRule & { used: number })[] {
    return this.rules.map((r) => ({ ...r.rule, used: r.used }));
  }

  clear(): void {
    this.rules = [];
  }

  decide(endpoint: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const entry of this.rules) {
      const { rule } = entry;
      if (rule.endpoint !== '*' && rule.endpoint !== endpoint) continue;
      if (rule.times !== undefined && entry.used >= rule.times) continue;
      if (rule.kind !== 'latency' && decision.terminal) continue;
      if (this.random.next() >= (rule.rate ?? 1)) continue;
      entry.used++;
      if (rule.kind === 'latency') decision.latencyMs += rule.latencyMs ?? 0;
      else if (rule.kind === 'error')
        decision.terminal = {
          kind: 'error',
          status: rule.status ?? 503,
          ...(rule.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: rule.retryAfterSeconds }),
        };
      else decision.terminal = { kind: rule.kind };
    }
    return decision;
  }
}
