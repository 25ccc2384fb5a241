/** The cluster view in /metrics: one scrape of any instance shows every instance. */
import { Gauge, type Registry } from 'prom-client';
import type { ClusterSnapshot, ClusterView } from './members.js';

const EMPTY: ClusterSnapshot = {
  self: '',
  ledger: 'postgres',
  heartbeatIntervalMs: 0,
  memberTimeoutMs: 0,
  budget: { requestsPerMinute: 0, burst: 0, shared: false },
  leader: null,
  members: [],
};

export function registerClusterMetrics(registry: Registry, view: ClusterView): void {
  let last: Promise<ClusterSnapshot | null> | null = null;
  // One snapshot per scrape, shared by the gauges; a ledger that does not answer leaves them empty
  // rather than failing the whole scrape.
  const snapshot = async (): Promise<ClusterSnapshot> => {
    last ??= view
      .snapshot()
      .catch(() => null)
      .finally(() => setTimeout(() => (last = null), 500).unref());
    return (await last) ?? EMPTY;
  };
  new Gauge({
    name: 'callbackd_cluster_member_info',
    help: 'Each instance on this ledger (1 alive, 0 heartbeat older than memberTimeoutMs), with its version and config hash',
    labelNames: ['member', 'host', 'version', 'config_hash'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const m of (await snapshot()).members) {
        this.set(
          { member: m.id, host: m.host, version: m.version, config_hash: m.configHash },
          m.alive ? 1 : 0,
        );
      }
    },
  });
  new Gauge({
    name: 'callbackd_cluster_budget_granted_last_minute',
    help: 'Platform requests each instance was granted in the last minute, out of the one shared budget',
    labelNames: ['member'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const m of (await snapshot()).members) {
        if (m.budgetGrantedLastMinute !== null) this.set({ member: m.id }, m.budgetGrantedLastMinute);
      }
    },
  });
  new Gauge({
    name: 'callbackd_cluster_budget_requests_per_minute',
    help: 'The platform budget (genesys.requestsPerMinute), shared by every instance on PostgreSQL',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s !== EMPTY) this.set(s.budget.requestsPerMinute);
    },
  });
  new Gauge({
    name: 'callbackd_cluster_lease_held',
    help: 'Cluster leases held (1) per instance, e.g. the notification listener',
    labelNames: ['member', 'lease'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const m of (await snapshot()).members)
        for (const l of m.leases) this.set({ member: m.id, lease: l }, 1);
    },
  });
}
