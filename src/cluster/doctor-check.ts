/**
 * `callbackd doctor`'s cluster check: on a PostgreSQL ledger, the live instances (heartbeat within
 * memberTimeoutMs) must run one version and one config; this doctor's own config and version
 * count as the one the operator means to run.
 */
import type { CallbackdConfig } from '../config/schema.js';
import { isPostgresUrl } from '../ledger/index.js';
import { openPostgresPool } from '../ledger/postgres/index.js';
import { configHash } from './index.js';
import { DB_NOW_MS } from './lease.js';

export interface ClusterFinding {
  ok: boolean;
  check: string;
  fix?: string;
}

export async function clusterFindings(config: CallbackdConfig, version: string): Promise<ClusterFinding[]> {
  if (!isPostgresUrl(config.ledger.url)) return [];
  const { pool } = openPostgresPool(config.ledger.url, { poolMax: 1 });
  try {
    const { rows } = await pool.query<{ id: string; version: string; config_hash: string }>(
      `select id, version, config_hash from cluster_members where heartbeat_at >= ${DB_NOW_MS} - $1::bigint order by id`,
      [config.cluster.memberTimeoutMs],
    );
    const mine = configHash(config);
    const check = `cluster: ${rows.length} live instance(s) on this ledger run version ${version} and this config (${mine})`;
    const off = rows.filter((r) => r.version !== version || r.config_hash !== mine);
    if (off.length === 0) return [{ ok: true, check }];
    return [
      {
        ok: false,
        check,
        fix: `${off.map((r) => `${r.id} runs ${r.version} with config ${r.config_hash}`).join('; ')}: roll those instances to the same build and config (GET /api/v2/routing/cluster lists every instance)`,
      },
    ];
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 42P01: no cluster_members table yet (the ledger is not migrated): no instance has run.
    if (code === '42P01') return [];
    return [
      {
        ok: false,
        check: 'cluster: the instances on this ledger can be listed',
        fix: `the ledger did not answer (${(err as Error).message}); check ledger.url / CALLBACKD_DB`,
      },
    ];
  } finally {
    await pool.end();
  }
}
