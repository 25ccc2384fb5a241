/** GET /api/v2/routing/cluster and the cluster gauges in /metrics, on SQLite (one instance) and PostgreSQL (two). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.js';
import { defaultConfigInput } from '../../src/config/index.js';
import { CallbackdConfigSchema } from '../../src/config/schema.js';
import { freshSchema, PG_URL } from './pg.js';

const silent = pino({ level: 'silent' });
const T0 = Date.UTC(2030, 0, 15, 15, 0, 0);

function configFor(ledgerUrl: string, extra: Record<string, unknown> = {}) {
  return CallbackdConfigSchema.parse({ ...defaultConfigInput(), ledger: { url: ledgerUrl }, ...extra });
}

async function get(app: App, path: string, key: string | null = app.demoKey) {
  const res = await fetch(app.url + path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, text: await res.text() };
}

describe('the cluster view on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'callbackd-cluster-api-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows the one instance with its own budget, and needs a key with view scope', async () => {
    const app = await startApp({
      config: configFor(join(dir, 'one.db')),
      port: 0,
      logger: silent,
      simulatorStartTime: T0,
    });
    try {
      expect((await get(app, '/api/v2/routing/cluster', null)).status).toBe(401);
      const res = await get(app, '/api/v2/routing/cluster');
      expect(res.status).toBe(200);
      const body = JSON.parse(res.text);
      expect(body).toMatchObject({ ledger: 'sqlite', leader: null, disagreements: [] });
      expect(body.budget).toMatchObject({ requestsPerMinute: 300, shared: false });
      expect(body.members).toHaveLength(1);
      expect(body.members[0]).toMatchObject({
        id: body.self,
        pid: process.pid,
        alive: true,
        version: '0.1.0',
      });
      const metrics = await get(app, '/metrics', null);
      expect(metrics.text).toContain(`callbackd_cluster_member_info{member="${body.self}"`);
    } finally {
      await app.close();
    }
  });
});

describe.skipIf(!PG_URL)('the cluster view on PostgreSQL', () => {
  it('lists both instances, shares one budget, elects one listener leader in event mode, and forgets a stopped one', async () => {
    const schema = await freshSchema(PG_URL!, 'api');
    const u = new URL(PG_URL!);
    u.searchParams.set('schema', schema.name);
    const config = configFor(u.toString(), {
      tracking: { mode: 'events' },
      cluster: { heartbeatIntervalMs: 200, memberTimeoutMs: 1_000 },
    });
    const apps: App[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        apps.push(await startApp({ config, port: 0, logger: silent, simulatorStartTime: T0 }));
      }
      const [a, b] = apps as [App, App];
      const view = JSON.parse((await get(a, '/api/v2/routing/cluster')).text);
      expect(view.ledger).toBe('postgres');
      expect(view.budget).toMatchObject({ requestsPerMinute: 300, shared: true });
      expect(view.members.map((m: { id: string }) => m.id).sort()).toEqual(
        [view.self, JSON.parse((await get(b, '/api/v2/routing/cluster')).text).self].sort(),
      );
      const leaders = view.members.filter((m: { leases: string[] }) => m.leases.includes('events-listener'));
      expect(leaders).toHaveLength(1);
      expect(view.leader.holder).toBe(leaders[0].id);
      expect(view.disagreements).toEqual([]);
      const metrics = (await get(b, '/metrics', null)).text;
      expect(metrics).toContain('callbackd_cluster_budget_requests_per_minute 300');
      expect(metrics).toMatch(/callbackd_cluster_lease_held\{member="[^"]+",lease="events-listener"\} 1/);

      await a.close();
      const after = JSON.parse((await get(b, '/api/v2/routing/cluster')).text);
      expect(after.members).toHaveLength(1);
      expect(after.members[0].id).toBe(after.self);
    } finally {
      for (const app of apps) await app.close();
      await schema.drop();
    }
  });
});
