/**
 * A callbackd deployment for the reliability harness, built from real parts: the Genesys
 * simulator in this process (so it outlives every callbackd it serves), a SQLite ledger file in a
 * temp dir, an API key made with the built CLI, and `callbackd serve` from dist/ as a child
 * process that can be SIGKILLed, SIGSTOPped and restarted on the same (or a copied) file.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, rmSync, type WriteStream, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  BILLING_QUEUE_ID,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  type Simulator,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../../../../src/simulator/index.js';
import { waitFor } from '../../../support/wait.js';
import type { DrainTarget } from './drain.js';
import {
  type AuditInput,
  type AuditResult,
  auditLedger,
  type LedgerSnapshot,
  ledgerSnapshot,
} from './ledger-check.js';
import { REPO_ROOT } from './util.js';

const run = promisify(execFile);

export const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
export const TENANT = 't1';
export const SCOPES = 'routing:callback:create,routing:callback:view,routing:callback:edit';

/** A DID callbackd is configured with that the simulated org has not provisioned: the carrier refuses it. */
export const UNPROVISIONED_DID = '+18005559999';
export const SUPPORT_DID = '+18005551234';
export const BILLING_DID = '+18005551235';

/**
 * Engine timings at test speed, in the order the submitter needs them:
 * requestTimeoutMs < sendWindowMs < leaseMs, and analyticsLagMs above the simulator's lag.
 */
export const FAST_ENGINE = {
  genesys: { requestTimeoutMs: 2_000, requestsPerMinute: 120_000 },
  submitter: {
    leaseMs: 6_000,
    sendWindowMs: 3_000,
    analyticsLagMs: 1_500,
    lookupIntervalMs: 500,
    pollIntervalMs: 200,
    retryBaseDelayMs: 300,
    retryMaxDelayMs: 3_000,
  },
  tracking: { pollIntervalMs: 250, sweepIntervalMs: 1_000, recentWindowMs: 15_000 },
  simAnalyticsLagMs: 300,
} as const;

export interface Customer {
  externalId: string;
  number: string;
}

/** Customers whose numbers the simulator dials with its default (random) rule. */
export function makeCustomers(count: number): Customer[] {
  return Array.from({ length: count }, (_, i) => ({
    externalId: `CUST-${String(i).padStart(4, '0')}`,
    // +1 415 555 3000…: clear of the demo org's numbers with preset outcomes.
    number: `+1415555${String(3000 + i).padStart(4, '0')}`,
  }));
}

function queuePolicy(name: string, dids: { number: string; sameFromTo: boolean }[]) {
  return {
    name,
    minLeadSeconds: 0,
    maxLeadDays: 30,
    openHours: {
      timeZone: 'UTC',
      weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' }],
    },
    // The harness runs at any hour: no calling window to fall outside of.
    callingWindow: { start: '00:00', end: '24:00' },
    maxCallbacks: 1_000_000,
    verification: 'none',
    wrapUpCodes: ['PROGRAMMATIC_CALLBACK'],
    defaultPriority: 0,
    timeoutSeconds: { min: 5, max: 3_600, default: 8 },
    dids,
    // A capacity refusal is final at once: the "no platform callback, final state with a reason" case.
    rejectionRetry: { attempts: 0, delayMinutes: { min: 0, max: 0 } },
  };
}

export function harnessConfig(opts: { dbPath: string; customers: Customer[] }): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    ledger: { url: opts.dbPath },
    genesys: { ...FAST_ENGINE.genesys },
    queues: {
      [SUPPORT_QUEUE_ID]: queuePolicy('Support', [
        { number: SUPPORT_DID, sameFromTo: false },
        { number: UNPROVISIONED_DID, sameFromTo: false },
      ]),
      [BILLING_QUEUE_ID]: queuePolicy('Billing', [{ number: BILLING_DID, sameFromTo: false }]),
    },
    customers: {
      source: 'builtin',
      records: opts.customers.map((c) => ({ externalId: c.externalId, numbers: [c.number] })),
    },
    tracking: { ...FAST_ENGINE.tracking },
    submitter: { ...FAST_ENGINE.submitter },
    // The harness is one client sending thousands of requests: intake limits are not under test.
    intake: { requestsPerMinutePerKey: 10_000_000 },
  };
}

export interface ServeExit {
  generation: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We sent the signal that ended it. */
  expected: boolean;
}

export interface ServeProcess {
  generation: number;
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
  expectExit: boolean;
}

export interface SpawnServeOptions {
  generation: number;
  env: NodeJS.ProcessEnv;
  configPath: string;
  log: WriteStream;
  logPath: string;
  timeoutMs: number;
  onExit: (exit: ServeExit, proc: ServeProcess) => void;
}

/** Spawns `callbackd serve` from dist/ and resolves once it printed `listening on <url>`. */
export async function spawnServe(o: SpawnServeOptions): Promise<ServeProcess> {
  const { generation, log } = o;
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--config', o.configPath], {
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: ServeProcess = {
    generation,
    child,
    url: '',
    exited: once(child, 'exit').then(() => undefined),
    expectExit: false,
  };
  child.stderr?.pipe(log, { end: false });
  let pending = '';
  let resolveUrl: (url: string) => void = () => {};
  const urlSeen = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (proc.url) return;
    pending += chunk.toString();
    const m = /^listening on (\S+)$/m.exec(pending);
    if (m) {
      pending = '';
      resolveUrl(m[1]!);
    }
  });
  child.on('exit', (code, signal) => o.onExit({ generation, code, signal, expected: proc.expectExit }, proc));
  const outcome = await Promise.race([
    urlSeen,
    proc.exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), o.timeoutMs).unref()),
  ]);
  if (outcome === 'exited' || outcome === 'timeout') {
    if (outcome === 'timeout') {
      proc.expectExit = true;
      child.kill('SIGKILL');
    }
    throw new Error(
      `callbackd serve (generation ${generation}) ${outcome === 'exited' ? 'exited' : `did not listen within ${o.timeoutMs} ms`}; see ${o.logPath}`,
    );
  }
  proc.url = outcome;
  return proc;
}

/** SIGKILL or SIGTERM one serve and wait for it to be gone. */
export async function signalServe(proc: ServeProcess, sig: NodeJS.Signals): Promise<void> {
  proc.expectExit = true;
  proc.child.kill(sig);
  await proc.exited;
}

export interface ClusterOptions {
  customers?: number;
  /** Seed of the simulator's PRNG (faults, random outcomes). */
  seed?: number;
  /** Keep the temp dir (logs, ledger) after close. */
  keepDir?: boolean;
  /** Log level of the serve children (CALLBACKD_LOG_LEVEL). */
  logLevel?: string;
}

export class Cluster implements DrainTarget {
  readonly customers: Customer[];
  /** Every serve that ended without us asking (a crash is a finding). */
  readonly unexpectedExits: ServeExit[] = [];
  readonly exits: ServeExit[] = [];
  /** Spawn to `listening on`, per serve started (a restart's downtime, less the kill itself). */
  readonly startupsMs: number[] = [];
  private current: ServeProcess | null = null;
  private generation = 0;
  private logs: WriteStream[] = [];
  key = '';

  private constructor(
    readonly dir: string,
    readonly sim: Simulator,
    readonly configPath: string,
    private dbFile: string,
    private readonly opts: ClusterOptions,
  ) {
    this.customers = [];
  }

  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    if (!existsSync(CLI)) {
      throw new Error(`${CLI} is missing: run npm run build first (the harness drives the built dist)`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'callbackd-chaos-'));
    const sim = await startSimulator({
      realTime: true,
      seed: opts.seed ?? 1,
      analyticsLagMs: FAST_ENGINE.simAnalyticsLagMs,
      requestsPerMinute: 1_000_000,
    });
    const customers = makeCustomers(opts.customers ?? 200);
    const dbPath = join(dir, 'ledger.db');
    const configPath = join(dir, 'callbackd.json');
    writeFileSync(configPath, JSON.stringify(harnessConfig({ dbPath, customers }), null, 2));
    const cluster = new Cluster(dir, sim, configPath, dbPath, opts);
    cluster.customers.push(...customers);
    try {
      cluster.key = await cluster.createKey(TENANT, SCOPES);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  get dbPath(): string {
    return this.dbFile;
  }

  /** The running serve's base URL, or null between a kill and the restart. */
  get url(): string | null {
    return this.current?.url ?? null;
  }

  get pid(): number | null {
    return this.current?.child.pid ?? null;
  }

  get serveGeneration(): number {
    return this.generation;
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CALLBACKD_DB: this.dbFile,
      CALLBACKD_CONFIG: this.configPath,
      GENESYS_BASE_URL: this.sim.url,
      GENESYS_CLIENT_ID: DEMO_CLIENT_ID,
      GENESYS_CLIENT_SECRET: DEMO_CLIENT_SECRET,
      CALLBACKD_LOG_LEVEL: this.opts.logLevel ?? 'warn',
    };
    for (const name of ['PORT', 'GENESYS_REGION', 'GENESYS_LOGIN_URL', 'CALLBACKD_AMQP_URL'])
      delete env[name];
    for (const name of ['CALLBACKD_CRM_WEBHOOK_URL', 'CALLBACKD_CRM_WEBHOOK_SECRET']) delete env[name];
    return env;
  }

  /** `callbackd keys create` with the built CLI against the current ledger file; returns the key. */
  async createKey(tenant: string, scopes: string): Promise<string> {
    const { stdout } = await run(
      process.execPath,
      [CLI, 'keys', 'create', '--tenant', tenant, '--scopes', scopes, '--json', '--config', this.configPath],
      { env: this.env() },
    );
    const created = JSON.parse(stdout) as { id?: string; key?: string };
    if (!created.key || !/^cbk_[A-Za-z0-9]{32,}$/.test(created.key)) {
      throw new Error(`keys create printed no key: ${stdout}`);
    }
    return created.key;
  }

  /**
   * Extra keys made in this process straight on the ledger file (each CLI call costs a Node
   * start-up); the first key of every cluster comes from the built CLI. Revoked ones are revoked.
   */
  async createKeysDirect(specs: { tenant: string; scopes: string; revoked?: boolean }[]): Promise<string[]> {
    const { openStore } = await import('../../../../src/ledger/index.js');
    const { createApiKey, parseScopes } = await import('../../../../src/api/keys.js');
    const store = openStore(this.dbFile);
    try {
      await store.migrate();
      const keys: string[] = [];
      for (const spec of specs) {
        const { record, key } = await createApiKey(store, {
          tenantId: spec.tenant,
          scopes: parseScopes(spec.scopes),
          name: 'reliability harness',
          clock: { now: () => Date.now() },
        });
        if (spec.revoked) await store.revokeApiKey(record.id, Date.now());
        keys.push(key);
      }
      return keys;
    } finally {
      await store.close();
    }
  }

  /** Points later serves at another ledger file (a copy). */
  useLedger(dbPath: string): void {
    this.dbFile = dbPath;
  }

  /** Starts `callbackd serve` and resolves once it printed `listening on <url>`. */
  async startServe(opts: { timeoutMs?: number } = {}): Promise<string> {
    if (this.current) throw new Error('a serve is already running');
    const generation = ++this.generation;
    const spawnedAt = Date.now();
    const log = createWriteStream(join(this.dir, `serve-${generation}.log`));
    this.logs.push(log);
    const proc = await spawnServe({
      generation,
      env: this.env(),
      configPath: this.configPath,
      log,
      logPath: join(this.dir, `serve-${generation}.log`),
      timeoutMs: opts.timeoutMs ?? 30_000,
      onExit: (exit, p) => {
        this.exits.push(exit);
        if (!exit.expected) this.unexpectedExits.push(exit);
        if (this.current === p) this.current = null;
      },
    });
    this.current = proc;
    this.startupsMs.push(Date.now() - spawnedAt);
    return proc.url;
  }

  /** SIGKILL: no shutdown code runs, leases stay held, an in-flight create stays marked. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM: the clean shutdown (finish in-flight, release leases). */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /**
   * Freezes the serve (SIGSTOP) and waits until the kernel reports it stopped, so its ledger file
   * no longer changes mid-run, as a disk snapshot would see it.
   */
  async freeze(): Promise<void> {
    const pid = this.pid;
    if (pid === null || !this.current) throw new Error('no serve to freeze');
    this.current.child.kill('SIGSTOP');
    await waitFor(
      `serve ${pid} stopped`,
      async () => {
        const { readFile } = await import('node:fs/promises');
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        // Field 3, after the parenthesised command name: T = stopped by a signal.
        return /\) T /.test(stat);
      },
      { timeoutMs: 5_000, intervalMs: 5 },
    );
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.current;
    if (!proc) return;
    this.current = null;
    await signalServe(proc, sig);
  }

  // ---- DrainTarget -----------------------------------------------------------------------

  async ledgerSnapshot(): Promise<LedgerSnapshot> {
    return ledgerSnapshot(this.dbFile, TENANT);
  }

  async audit(input: Omit<AuditInput, 'dbPath' | 'tenant'>): Promise<AuditResult> {
    return auditLedger({ ...input, dbPath: this.dbFile, tenant: TENANT });
  }

  describe(): string {
    return `serve generation ${this.generation}, url ${this.url ?? 'none'}, logs in ${this.dir}`;
  }

  /** Resident memory of the running serve in kB (Linux /proc), or null. */
  async rssKb(): Promise<number | null> {
    const pid = this.pid;
    if (pid === null) return null;
    try {
      const { readFile } = await import('node:fs/promises');
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    await this.kill().catch(() => undefined);
    await this.sim.close().catch(() => undefined);
    await Promise.all(
      this.logs.map((l) => new Promise<void>((resolve) => (l.closed ? resolve() : l.end(() => resolve())))),
    );
    if (!this.opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits until `probe` holds, failing with a description of the cluster's state. */
export function waitForCluster<T>(
  cluster: Cluster,
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  describe?: () => string | Promise<string>,
): Promise<T> {
  return waitFor(what, probe, {
    timeoutMs,
    intervalMs: 100,
    describe: async () =>
      `${describe ? `${await describe()}; ` : ''}serve generation ${cluster.serveGeneration}, url ${cluster.url ?? 'none'}, logs in ${cluster.dir}`,
  });
}
