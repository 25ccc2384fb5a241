/**
 * A callbackd cluster for the reliability harness: N `callbackd serve` processes from dist/ on one
 * PostgreSQL schema, the Genesys simulator in this process, and a counting proxy in front of the
 * simulator that timestamps every platform API call (the per-minute budget check). Instances can
 * be SIGKILLed and restarted one at a time; the client spreads requests across the live ones.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  type Simulator,
  startSimulator,
} from '../../../../src/simulator/index.js';
import {
  CLI,
  FAST_ENGINE,
  harnessConfig,
  makeCustomers,
  SCOPES,
  type ServeExit,
  type ServeProcess,
  signalServe,
  spawnServe,
  TENANT,
} from './cluster.js';
import type { DrainTarget, DrainWatcher } from './drain.js';
import {
  type AuditInput,
  type AuditResult,
  auditRows,
  type HistoryRow,
  type LedgerSnapshot,
  type Row,
  snapshotOf,
} from './ledger-check.js';

const run = promisify(execFile);

/** Counts platform API calls (not the OAuth token endpoint, not /sim control) with their times. */
export class CountingProxy {
  readonly callTimes: number[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<CountingProxy> {
    const to = new URL(target);
    let proxy: CountingProxy | undefined;
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/api/')) proxy?.callTimes.push(Date.now());
      const upstream = httpRequest(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new CountingProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  /** The most calls in any sliding window of windowMs, and when that window began. */
  busiestWindow(
    windowMs = 60_000,
    from = 0,
    to = Number.POSITIVE_INFINITY,
  ): { calls: number; startedAt: number } {
    const times = this.callTimes.filter((t) => t >= from && t <= to);
    let best = { calls: 0, startedAt: from };
    let lo = 0;
    for (let hi = 0; hi < times.length; hi++) {
      while (times[hi]! - times[lo]! >= windowMs) lo++;
      if (hi - lo + 1 > best.calls) best = { calls: hi - lo + 1, startedAt: times[lo]! };
    }
    return best;
  }

  /** Calls per whole minute from `from`: [calls in minute 1, minute 2, …]. */
  perMinute(from: number, to: number): number[] {
    const out: number[] = [];
    for (let t = from; t + 60_000 <= to; t += 60_000) {
      out.push(this.callTimes.filter((c) => c >= t && c < t + 60_000).length);
    }
    return out;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface PgClusterOptions {
  pgUrl: string;
  instances: number;
  customers?: number;
  seed?: number;
  /** genesys.requestsPerMinute: the budget the whole cluster shares. */
  requestsPerMinute: number;
  /** Config overrides merged over the harness config (e.g. tracking). */
  config?: (base: Record<string, unknown>) => Record<string, unknown>;
  keepDir?: boolean;
  logLevel?: string;
  /** Simulator in manual-clock mode instead of real time. */
  simStartTime?: number;
  /** cluster.* timings (default: test speed, a dead member's leases go within two seconds). */
  cluster?: { heartbeatIntervalMs: number; memberTimeoutMs: number };
}

interface Slot {
  proc: ServeProcess | null;
}

export class PgCluster implements DrainTarget {
  readonly unexpectedExits: ServeExit[] = [];
  readonly exits: ServeExit[] = [];
  readonly startupsMs: number[] = [];
  readonly customers = makeCustomers(0);
  key = '';
  private readonly slots: Slot[];
  private generation = 0;
  private logs: WriteStream[] = [];
  private rr = 0;

  private constructor(
    readonly dir: string,
    readonly sim: Simulator,
    readonly proxy: CountingProxy,
    readonly configPath: string,
    readonly ledgerUrl: string,
    readonly schema: string,
    readonly db: pg.Pool,
    private readonly opts: PgClusterOptions,
  ) {
    this.slots = Array.from({ length: opts.instances }, () => ({ proc: null }));
  }

  static async start(opts: PgClusterOptions): Promise<PgCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'callbackd-pgchaos-'));
    const sim = await startSimulator({
      realTime: opts.simStartTime === undefined,
      ...(opts.simStartTime === undefined ? {} : { startTime: opts.simStartTime }),
      seed: opts.seed ?? 1,
      analyticsLagMs: FAST_ENGINE.simAnalyticsLagMs,
      requestsPerMinute: 1_000_000,
    });
    const proxy = await CountingProxy.start(sim.url);
    const customers = makeCustomers(opts.customers ?? 200);
    const schema = `chaos_${process.pid}_${Date.now().toString(36)}`;
    const u = new URL(opts.pgUrl);
    u.searchParams.set('schema', schema);
    const ledgerUrl = u.toString();
    const base = harnessConfig({ dbPath: ledgerUrl, customers });
    const config = {
      ...base,
      genesys: { ...(base['genesys'] as object), requestsPerMinute: opts.requestsPerMinute },
      cluster: opts.cluster ?? { heartbeatIntervalMs: 500, memberTimeoutMs: 2_000 },
    };
    const configPath = join(dir, 'callbackd.json');
    writeFileSync(configPath, JSON.stringify(opts.config ? opts.config(config) : config, null, 2));
    const db = new pg.Pool({ connectionString: opts.pgUrl, max: 2, options: `-c search_path=${schema}` });
    const cluster = new PgCluster(dir, sim, proxy, configPath, ledgerUrl, schema, db, opts);
    cluster.customers.push(...customers);
    try {
      // Migrations once, as an operator would (serve migrates too; concurrent starts are safe).
      await run(process.execPath, [CLI, 'migrate', '--config', configPath], { env: cluster.env() });
      const { stdout } = await run(
        process.execPath,
        [CLI, 'keys', 'create', '--tenant', TENANT, '--scopes', SCOPES, '--json', '--config', configPath],
        { env: cluster.env() },
      );
      cluster.key = (JSON.parse(stdout) as { key: string }).key;
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CALLBACKD_DB: this.ledgerUrl,
      CALLBACKD_CONFIG: this.configPath,
      GENESYS_BASE_URL: this.proxy.url,
      GENESYS_CLIENT_ID: DEMO_CLIENT_ID,
      GENESYS_CLIENT_SECRET: DEMO_CLIENT_SECRET,
      CALLBACKD_LOG_LEVEL: this.opts.logLevel ?? 'warn',
    };
    for (const name of [
      'PORT',
      'GENESYS_REGION',
      'GENESYS_LOGIN_URL',
      'CALLBACKD_AMQP_URL',
      'CALLBACKD_CRM_WEBHOOK_URL',
      'CALLBACKD_CRM_WEBHOOK_SECRET',
    ])
      delete env[name];
    return env;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Serves started so far (restarts included). */
  get serveGeneration(): number {
    return this.generation;
  }

  /** The live instances' URLs. */
  urls(): string[] {
    return this.slots.flatMap((s) => (s.proc ? [s.proc.url] : []));
  }

  pid(i: number): number | null {
    return this.slots[i]?.proc?.child.pid ?? null;
  }

  /** Round-robin over the live instances (the client's target). */
  nextUrl(): string | null {
    const urls = this.urls();
    if (urls.length === 0) return null;
    return urls[this.rr++ % urls.length]!;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.startServe(i)));
  }

  async startServe(i: number, opts: { timeoutMs?: number } = {}): Promise<string> {
    const slot = this.slots[i]!;
    if (slot.proc) throw new Error(`instance ${i} is already running`);
    const generation = ++this.generation;
    const spawnedAt = Date.now();
    const logPath = join(this.dir, `serve-${i}-${generation}.log`);
    const log = createWriteStream(logPath);
    this.logs.push(log);
    const proc = await spawnServe({
      generation,
      env: this.env(),
      configPath: this.configPath,
      log,
      logPath,
      timeoutMs: opts.timeoutMs ?? 30_000,
      onExit: (exit, p) => {
        this.exits.push(exit);
        if (!exit.expected) this.unexpectedExits.push(exit);
        if (slot.proc === p) slot.proc = null;
      },
    });
    slot.proc = proc;
    this.startupsMs.push(Date.now() - spawnedAt);
    return proc.url;
  }

  async kill(i: number): Promise<void> {
    await this.signal(i, 'SIGKILL');
  }

  private async signal(i: number, sig: NodeJS.Signals): Promise<void> {
    const slot = this.slots[i]!;
    const proc = slot.proc;
    if (!proc) return;
    slot.proc = null;
    await signalServe(proc, sig);
  }

  // ---- DrainTarget -----------------------------------------------------------------------

  async stop(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.signal(i, 'SIGTERM')));
  }

  private async rows(): Promise<Row[]> {
    const { rows } = await this.db.query<Row>(
      'select pk, callback_id, status, status_reason_code, conversation_id, submit_inflight_at from callbacks where tenant_id = $1 order by pk',
      [TENANT],
    );
    return rows.map((r) => ({
      ...r,
      pk: Number(r.pk),
      submit_inflight_at: r.submit_inflight_at === null ? null : Number(r.submit_inflight_at),
    }));
  }

  async ledgerSnapshot(): Promise<LedgerSnapshot> {
    const rows = await this.rows();
    const { rows: leased } = await this.db.query<{ n: string }>(
      'select count(*) as n from jobs where locked_until is not null and locked_until > $1',
      [Date.now()],
    );
    return snapshotOf(rows, Number(leased[0]?.n ?? 0));
  }

  async audit(input: Omit<AuditInput, 'dbPath' | 'tenant'>): Promise<AuditResult> {
    const rows = await this.rows();
    const { rows: history } = await this.db.query<HistoryRow>(
      'select h.callback_pk, h.status from callback_history h join callbacks c on c.pk = h.callback_pk where c.tenant_id = $1 order by h.callback_pk, h.id',
      [TENANT],
    );
    return auditRows({
      ...input,
      tenant: TENANT,
      rows,
      history: history.map((h) => ({ ...h, callback_pk: Number(h.callback_pk) })),
    });
  }

  describe(): string {
    return `${this.urls().length}/${this.size} instances up, ${this.generation} serves started, logs in ${this.dir}`;
  }

  /** A watcher of first-seen final states on the schema (the audit's "final state changed" check). */
  watcher(intervalMs = 500): DrainWatcher & { start(): void } {
    const firstFinal = new Map<string, string>();
    let timer: NodeJS.Timeout | undefined;
    const sample = async () => {
      try {
        const { rows } = await this.db.query<{ callback_id: string; status: string }>(
          "select callback_id, status from callbacks where tenant_id = $1 and status in ('completed', 'expired', 'rejected', 'cancelled')",
          [TENANT],
        );
        for (const r of rows) if (!firstFinal.has(r.callback_id)) firstFinal.set(r.callback_id, r.status);
      } catch {
        // The next sample will do.
      }
    };
    return {
      firstFinal,
      sample,
      start() {
        const tick = () => {
          void sample().finally(() => {
            if (timer !== undefined) timer = setTimeout(tick, intervalMs).unref();
          });
        };
        timer = setTimeout(tick, 0).unref();
      },
      stop() {
        if (timer) clearTimeout(timer);
        timer = undefined;
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.kill(i).catch(() => undefined)));
    await this.proxy.close().catch(() => undefined);
    await this.sim.close().catch(() => undefined);
    await Promise.all(
      this.logs.map((l) => new Promise<void>((resolve) => (l.closed ? resolve() : l.end(() => resolve())))),
    );
    if (!this.opts.keepDir) {
      await this.db.query(`drop schema if exists "${this.schema}" cascade`).catch(() => undefined);
      rmSync(this.dir, { recursive: true, force: true });
    }
    await this.db.end().catch(() => undefined);
  }
}
