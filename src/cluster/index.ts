/**
 * Cluster mode, composed: on a PostgreSQL ledger every `callbackd serve` shares one platform
 * budget, registers as a member, and competes for the leader leases of work only one instance
 * may do (the notification listener). On SQLite there is one process per file (the serve lock),
 * and the view shows that one instance with its own in-process budget.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { CallbackdConfig } from '../config/schema.js';
import { openPostgresPool } from '../ledger/postgres/index.js';
import { SharedBudget } from './budget.js';
import {
  ClusterMembership,
  type ClusterSnapshot,
  type ClusterView,
  type LeaderRole,
  type MemberIdentity,
} from './members.js';

export { budgetParameters, SharedBudget } from './budget.js';
export type { ClusterMember, ClusterSnapshot, ClusterView, LeaderRole } from './members.js';
export { lockSqliteLedger } from './sqlite-guard.js';

/** The lease of the notification-channel listener (one per org). */
export const EVENTS_LISTENER_LEASE = 'events-listener';

/**
 * Instances must run the same config, bar where each listens and its secrets: a hash of the rest
 * (secrets are left out rather than hashed, so the hash says nothing about them).
 */
export function configHash(config: CallbackdConfig): string {
  const { server: _server, ...rest } = config;
  const redacted = {
    ...rest,
    genesys: { ...rest.genesys, clientSecret: undefined },
    crm: { ...rest.crm, secret: undefined },
    amqp: { ...rest.amqp, url: rest.amqp.url ? new URL(rest.amqp.url).host : undefined },
  };
  return createHash('sha256').update(stableJson(redacted)).digest('hex').slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function memberIdentity(id: string, config: CallbackdConfig, version: string): MemberIdentity {
  return { id, host: hostname(), pid: process.pid, version, configHash: configHash(config) };
}

export interface ClusterMode extends ClusterView {
  budget: SharedBudget;
  /** Registers the member and starts the heartbeat; the roles start on whichever member leads. */
  start(roles: readonly LeaderRole[]): Promise<void>;
  /** Stops the roles, hands the leases over at once and leaves the member list (idempotent). */
  leave(): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterModeOptions {
  ledgerUrl: string;
  config: CallbackdConfig;
  identity: MemberIdentity;
  now: () => number;
  onError?: (err: unknown, context: string) => void;
  onLeadership?: (lease: string, held: boolean, token: number | null) => void;
}

/** PostgreSQL: the shared budget and the membership on a small pool of their own. */
export function openClusterMode(opts: ClusterModeOptions): ClusterMode {
  // Two connections: a heartbeat must not queue behind the ledger's work, nor budget calls behind it.
  const { pool } = openPostgresPool(opts.ledgerUrl, {
    poolMax: 4,
    onPoolError: (err) => opts.onError?.(err, 'cluster pool'),
  });
  const budget = new SharedBudget({ db: pool, requestsPerMinute: opts.config.genesys.requestsPerMinute });
  let membership: ClusterMembership | null = null;
  let left: Promise<void> | undefined;
  return {
    budget,
    async start(roles) {
      membership = new ClusterMembership({
        db: pool,
        identity: opts.identity,
        heartbeatIntervalMs: opts.config.cluster.heartbeatIntervalMs,
        memberTimeoutMs: opts.config.cluster.memberTimeoutMs,
        budget,
        roles,
        now: opts.now,
        onError: opts.onError,
        onLeadership: opts.onLeadership,
      });
      await membership.start();
    },
    async snapshot() {
      if (!membership) throw new Error('cluster membership not started');
      return membership.snapshot();
    },
    async leave() {
      left ??= membership?.stop() ?? Promise.resolve();
      await left;
    },
    async close() {
      await this.leave();
      await pool.end();
    },
  };
}

/** SQLite (one process per file): the view of the one instance, from memory. */
export function localClusterView(
  identity: MemberIdentity,
  config: CallbackdConfig,
  startedAt: number,
  burst: number,
): ClusterView {
  return {
    async snapshot(): Promise<ClusterSnapshot> {
      const now = Date.now();
      return {
        self: identity.id,
        ledger: 'sqlite',
        heartbeatIntervalMs: config.cluster.heartbeatIntervalMs,
        memberTimeoutMs: config.cluster.memberTimeoutMs,
        budget: { requestsPerMinute: config.genesys.requestsPerMinute, burst, shared: false },
        leader: null,
        members: [
          {
            ...identity,
            startedAt,
            heartbeatAt: now,
            alive: true,
            // The in-process bucket does not count grants per minute.
            budgetGrantedLastMinute: null,
            leases: config.tracking.mode === 'events' ? [EVENTS_LISTENER_LEASE] : [],
            jobsLeased: 0,
          },
        ],
      };
    },
  };
}
