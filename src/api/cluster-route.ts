/** GET /api/v2/routing/cluster: the instances serving this ledger, their budget shares and leases. */
import { z } from 'zod';
import type { ClusterSnapshot, ClusterView } from '../cluster/index.js';
import type { RouteSpec } from './route.js';

const isoInstant = z.string().describe('UTC instant, YYYY-MM-DDTHH:mm:ss.sssZ');

export const ClusterMemberSchema = z
  .object({
    id: z.string().describe('Instance id (host-pid-random); the owner name on its ledger leases'),
    host: z.string(),
    pid: z.number().int(),
    version: z.string(),
    configHash: z
      .string()
      .describe('Hash of the config without secrets and listen address; instances should agree'),
    startedAt: isoInstant,
    lastHeartbeatAt: isoInstant,
    alive: z.boolean().describe('Heartbeat within memberTimeoutMs'),
    budgetGrantedLastMinute: z
      .number()
      .int()
      .nullable()
      .describe('Platform requests this instance was granted in the last minute (null: not counted, SQLite)'),
    leases: z.array(z.string()).describe('Cluster leases held, e.g. events-listener'),
    jobsLeased: z.number().int().describe('Ledger jobs (submit, cancel, reschedule) it holds right now'),
  })
  .meta({ id: 'ClusterMember' });

export const ClusterSchema = z
  .object({
    self: z.string().describe('The id of the instance that answered'),
    ledger: z.enum(['postgres', 'sqlite']),
    heartbeatIntervalMs: z.number().int(),
    memberTimeoutMs: z.number().int(),
    budget: z.object({
      requestsPerMinute: z.number().int(),
      burst: z.number().int(),
      shared: z.boolean().describe('One budget for every instance (PostgreSQL), or this process alone'),
    }),
    leader: z
      .object({ lease: z.string(), holder: z.string().nullable(), token: z.number().int().nullable() })
      .nullable()
      .describe('The notification-listener leadership (null on SQLite)'),
    members: z.array(ClusterMemberSchema),
    disagreements: z
      .array(z.string())
      .describe('Live instances that run another version or config than the others (empty when they agree)'),
  })
  .meta({ id: 'Cluster' });

/** What differs between live members: one line per minority version or config. */
export function disagreements(snapshot: ClusterSnapshot): string[] {
  const live = snapshot.members.filter((m) => m.alive);
  const out: string[] = [];
  for (const [what, key] of [
    ['version', (m: (typeof live)[number]) => m.version],
    ['config', (m: (typeof live)[number]) => m.configHash],
  ] as const) {
    const groups = new Map<string, string[]>();
    for (const m of live) groups.set(key(m), [...(groups.get(key(m)) ?? []), m.id]);
    if (groups.size < 2) continue;
    out.push(
      `instances disagree on ${what}: ${[...groups].map(([v, ids]) => `${v} on ${ids.join(', ')}`).join('; ')}`,
    );
  }
  return out;
}

export function clusterRoute(view: ClusterView): RouteSpec {
  return {
    method: 'GET',
    path: '/api/v2/routing/cluster',
    operationId: 'getCluster',
    summary: 'The callbackd instances serving this ledger',
    description:
      'Every instance with its last heartbeat, its share of the one platform budget and the leases it holds; ' +
      'on SQLite the one instance. Instances that disagree on version or config are listed under disagreements.',
    tags: ['operations'],
    scope: 'routing:callback:view',
    usesLedger: true,
    responses: { 200: { description: 'The cluster', schema: ClusterSchema } },
    handler: async () => {
      const s = await view.snapshot();
      return {
        ...s,
        members: s.members.map(({ heartbeatAt, startedAt, ...m }) => ({
          ...m,
          startedAt: new Date(startedAt).toISOString(),
          lastHeartbeatAt: new Date(heartbeatAt).toISOString(),
        })),
        disagreements: disagreements(s),
      };
    },
  };
}
