#!/usr/bin/env node
/**
 * The callbackd CLI: serve | sim | keys | migrate | schedule | status | cancel | list | import | doctor.
 * Exit codes (exit.ts): 0 ok, 1 refused, 2 usage, 3 unreachable, 130 interrupted.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type { CallbackdConfig } from '../config/schema.js';
import type { Store } from '../ledger/port.js';
import { resolveTarget } from './api-client.js';
import { registerClientCommands, stdio } from './commands/client.js';
import { CliError, EXIT, type ExitCode, usageError } from './exit.js';

// The heavy modules (ledger drivers, Fastify, the simulator) load only in the commands that need
// them, so the API clients start fast.
const VERSION = '0.1.0';

async function readConfig(file: string | undefined): Promise<CallbackdConfig> {
  const { ConfigError, loadConfig } = await import('../config/load.js');
  try {
    return loadConfig(file === undefined ? {} : { file });
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message);
    throw err;
  }
}

/** The ledger URL with any password hidden, for messages. */
function showLedger(url: string): string {
  return url.replace(/(\/\/[^:/@\s]+:)[^@/\s]+@/, '$1***@');
}

async function withStore<T>(config: CallbackdConfig, fn: (store: Store) => Promise<T>): Promise<T> {
  const { openStore } = await import('../ledger/index.js');
  let store: Store;
  try {
    store = openStore(config.ledger.url);
    await store.migrate();
  } catch (err) {
    throw new CliError(
      `the ledger ${showLedger(config.ledger.url)} cannot be opened: ${(err as Error).message}`,
      EXIT.unreachable,
    );
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function portOption(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw usageError(`--port must be a whole number from 0 to 65535, got ${value}`);
  return port;
}

const SIMULATOR_BANNER =
  '*** SIMULATOR MODE: no Genesys credentials are configured, so callbacks go to the built-in Genesys Cloud simulator — nobody is really called. Set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_REGION to use a real org. ***';

async function serve(opts: {
  config?: string;
  port?: number;
  host?: string;
  demo?: boolean;
}): Promise<ExitCode> {
  const config = await readConfig(opts.config);
  const { genesysEndpoints } = await import('../config/schema.js');
  const simulatorMode = genesysEndpoints(config.genesys).mode === 'simulator';
  // The very first line says whether real customers can be called.
  if (simulatorMode) process.stdout.write(`${SIMULATOR_BANNER}\n`);
  const { startApp } = await import('../app.js');
  const { createLogger } = await import('../api/logger.js');
  const log = createLogger();
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp({
      config,
      logger: log,
      demoTraffic: opts.demo === true,
      ...(opts.port === undefined ? {} : { port: opts.port }),
      ...(opts.host === undefined ? {} : { host: opts.host }),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw usageError(`port ${opts.port ?? config.server.port} is in use; pass another with --port or PORT`);
    }
    if (e.code === 'LEDGER_IN_USE') throw usageError(e.message);
    throw new CliError(`cannot start: ${e.message}`, EXIT.unreachable);
  }
  const lines: string[] = [];
  if (app.simulator) lines.push(`simulator (Genesys Cloud API and login) at ${app.simulator.url}`);
  lines.push(`ledger: ${showLedger(config.ledger.url)}`);
  if (app.demoKey) {
    lines.push(`demo API key (tenant demo, all scopes; simulator mode only): ${app.demoKey}`);
    lines.push(`dashboard: ${app.url}/#key=${app.demoKey}`);
  } else {
    lines.push(`dashboard: ${app.url}/`);
  }
  lines.push(`listening on ${app.url}`);
  process.stdout.write(`${lines.join('\n')}\n`);

  return new Promise<ExitCode>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        process.stderr.write(`${signal} again: exiting without a clean shutdown\n`);
        process.exit(EXIT.refused);
      }
      stopping = true;
      log.info({ signal }, 'shutting down: finishing in-flight requests, stopping workers, releasing leases');
      app.close().then(
        () => {
          log.info('stopped');
          // Everything is closed; should a stray handle keep the loop alive, do not hang forever.
          setTimeout(() => process.exit(EXIT.ok), 2_000).unref();
          resolve(EXIT.ok);
        },
        (err) => {
          log.error({ err }, 'shutdown failed');
          resolve(EXIT.unreachable);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

export function buildProgram(setExit: (code: ExitCode) => void): Command {
  const program = new Command('callbackd')
    .description(
      'Schedule customer callbacks in Genesys Cloud CX exactly once, and follow each one to its end.',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const configOption = () => new Option('--config <file>', 'YAML or JSON config file (env CALLBACKD_CONFIG)');

  program
    .command('serve')
    .description(
      'run the API, the engine workers and the dashboard (the simulator too when no Genesys credentials are set)',
    )
    .addOption(configOption())
    .option('--port <port>', 'port to listen on (env PORT; default 8080)', portOption)
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--demo', 'simulator mode: schedule a few demo callbacks on a first start (npm start does)')
    .action(async (opts) => setExit(await serve(opts)));

  program
    .command('sim')
    .description('run the Genesys Cloud simulator alone (prints its demo org; GET /sim/org)')
    .option('--port <port>', 'port (default 0: any free port)', portOption)
    .option('--host <host>', 'interface (default 127.0.0.1)')
    .action(async (opts: { port?: number; host?: string }) => {
      const { runSimulatorCli } = await import('../simulator/main.js');
      await runSimulatorCli({
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host ? { host: opts.host } : {}),
      });
      // runSimulatorCli keeps the process alive and exits on SIGINT/SIGTERM itself.
      await new Promise(() => {});
    });

  const keys = program
    .command('keys')
    .description('API keys: create, list, revoke (in the ledger of the config)');
  keys
    .command('create')
    .description('make a key; prints it once (stdout: the key alone; stderr: its id and scopes)')
    .requiredOption('--tenant <tenant>', 'the tenant the key belongs to')
    .requiredOption(
      '--scopes <scopes>',
      'comma-separated: routing:callback:create,routing:callback:edit,routing:callback:view, or all',
    )
    .option('--name <name>', 'a label for keys list')
    .option('--json', 'print {id, tenantId, scopes, name, key} as JSON')
    .addOption(configOption())
    .action(
      async (opts: { tenant: string; scopes: string; name?: string; json?: boolean; config?: string }) => {
        const { createApiKey, parseScopes } = await import('../api/keys.js');
        const { systemClock } = await import('../domain/types.js');
        let scopes: ReturnType<typeof parseScopes>;
        try {
          scopes = parseScopes(opts.scopes);
        } catch (err) {
          throw usageError((err as Error).message);
        }
        const config = await readConfig(opts.config);
        const created = await withStore(config, async (store) => {
          try {
            return await createApiKey(store, {
              tenantId: opts.tenant,
              scopes,
              clock: systemClock,
              ...(opts.name === undefined ? {} : { name: opts.name }),
            });
          } catch (err) {
            if (err instanceof Error && /tenant/.test(err.message)) throw usageError(err.message);
            throw err;
          }
        });
        const { record, key } = created;
        if (opts.json) {
          stdio.out(
            JSON.stringify({
              id: record.id,
              tenantId: record.tenantId,
              scopes: record.scopes,
              name: record.name,
              key,
            }),
          );
        } else {
          stdio.err(
            `created ${record.id} for tenant ${record.tenantId} with scopes ${record.scopes.join(',')}; the key is shown once, store it now:`,
          );
          stdio.out(key);
        }
        setExit(EXIT.ok);
      },
    );
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--json', 'print JSON')
    .addOption(configOption())
    .action(async (opts: { tenant?: string; json?: boolean; config?: string }) => {
      const config = await readConfig(opts.config);
      const list = await withStore(config, (store) => store.listApiKeys(opts.tenant));
      if (opts.json) {
        stdio.out(
          JSON.stringify(
            list.map(({ hash: _hash, ...k }) => k),
            null,
            2,
          ),
        );
      } else if (list.length === 0) {
        stdio.out('no keys');
      } else {
        for (const k of list) {
          const state = k.revokedAt === null ? 'active' : `revoked ${new Date(k.revokedAt).toISOString()}`;
          stdio.out(
            `${k.id}  ${k.tenantId}  ${k.scopes.join(',')}  ${state}  created ${new Date(k.createdAt).toISOString()}${k.name ? `  ${k.name}` : ''}`,
          );
        }
      }
      setExit(EXIT.ok);
    });
  keys
    .command('revoke')
    .description('revoke a key by its id (from keys list); effective at once')
    .argument('<id>')
    .addOption(configOption())
    .action(async (id: string, opts: { config?: string }) => {
      const config = await readConfig(opts.config);
      const revoked = await withStore(config, (store) => store.revokeApiKey(id, Date.now()));
      if (revoked) {
        stdio.out(`revoked ${id}`);
        setExit(EXIT.ok);
      } else {
        stdio.err(`no active key ${id}; see callbackd keys list`);
        setExit(EXIT.refused);
      }
    });

  program
    .command('migrate')
    .description('create or upgrade the ledger schema (serve does this too)')
    .addOption(configOption())
    .action(async (opts: { config?: string }) => {
      const config = await readConfig(opts.config);
      await withStore(config, async () => undefined);
      stdio.out(`ledger ${showLedger(config.ledger.url)} is migrated`);
      setExit(EXIT.ok);
    });

  registerClientCommands(program, stdio, setExit);

  program
    .command('import')
    .description('bulk-schedule callbacks from a CSV file (resumable; refused rows go to a file)')
    .argument('<file>', 'CSV with a header row; see the README for the columns')
    .option('--url <url>', 'callbackd API base URL (env CALLBACKD_URL; default http://127.0.0.1:8080)')
    .option('--key <key>', 'API key with routing:callback:create (env CALLBACKD_KEY)')
    .option('--refused <file>', 'where refused rows go (default: FILE.refused.csv)')
    .option('--concurrency <n>', 'requests in flight (default 8)', (v) => {
      if (!/^\d+$/.test(v) || Number(v) < 1) throw usageError('--concurrency must be a whole number ≥ 1');
      return Number(v);
    })
    .option('--restart', 'ignore the saved progress and start from the first row')
    .option('--json', 'print the summary as JSON')
    .action(
      async (
        file: string,
        opts: {
          url?: string;
          key?: string;
          refused?: string;
          concurrency?: number;
          restart?: boolean;
          json?: boolean;
        },
      ) => {
        const target = resolveTarget(opts);
        const { runImport } = await import('./commands/import.js');
        const { summary, exitCode } = await runImport({
          file,
          target,
          ...(opts.refused ? { refusedPath: opts.refused } : {}),
          ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
          ...(opts.restart ? { restart: true } : {}),
        });
        if (opts.json) stdio.out(JSON.stringify(summary));
        else {
          stdio.out(
            `${summary.interrupted ? 'interrupted (re-run the same command to resume)' : 'imported'} ${file}: ${summary.rows} rows, ` +
              `${summary.accepted} accepted, ${summary.replayed} already there, ${summary.refused} refused` +
              `${summary.refusedFile ? ` (reasons in ${summary.refusedFile})` : ''} in ${summary.seconds.toFixed(1)} s`,
          );
        }
        setExit(exitCode);
      },
    );

  program
    .command('doctor')
    .description(
      'dry run against the platform: credentials, permissions, queues, wrap-up codes, DIDs; --probe checks each platform assumption with one real callback far ahead (disconnected again)',
    )
    .addOption(configOption())
    .option('--probe', 'create one probe callback far ahead and check every assumption callbackd relies on')
    .option('--queue <id>', 'with --probe: the configured queue to probe')
    .option(
      '--number <e164>',
      'with --probe: the callback number (it is never dialled: scheduled 7 days ahead, then disconnected)',
    )
    .option('--json', 'with --probe: the report as JSON')
    .option(
      '--wait-seconds <n>',
      'with --probe: how long each look-up strategy may take to find the probe',
      '120',
    )
    .action(
      async (opts: {
        config?: string;
        probe?: boolean;
        queue?: string;
        number?: string;
        json?: boolean;
        waitSeconds: string;
      }) => {
        const config = await readConfig(opts.config);
        const { runDoctor, runDoctorProbe } = await import('./commands/doctor.js');
        if (!opts.probe) return setExit(await runDoctor(config, stdio.out));
        const waitSeconds = Number(opts.waitSeconds);
        if (!opts.queue || !opts.number || !Number.isInteger(waitSeconds) || waitSeconds < 1) {
          throw usageError(
            'doctor --probe needs --queue <configured queue id> and --number <E.164>, and --wait-seconds a whole number',
          );
        }
        setExit(
          await runDoctorProbe(config, stdio.out, {
            queue: opts.queue,
            number: opts.number,
            json: opts.json === true,
            waitSeconds,
          }),
        );
      },
    );

  return program;
}

export async function main(argv: string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      stdio.err(`callbackd: ${err.message}`);
      return err.exitCode;
    }
    stdio.err(`callbackd: ${(err as Error).stack ?? String(err)}`);
    return EXIT.unreachable;
  }
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
