/**
 * `node dist/simulator/main.js --port N` (and `callbackd sim --port N` through runSimulatorCli):
 * the simulator alone on 127.0.0.1, real-time clock, demo org printed at start.
 */
import { pathToFileURL } from 'node:url';
import { maskNumber, type Simulator, startSimulator } from './index.js';

export interface SimulatorCliOptions {
  port?: number;
  host?: string;
  /** Where lines go (default console.log). */
  print?: (line: string) => void;
}

export function describeOrg(sim: Simulator): string[] {
  const org = sim.org as {
    oauth: { clientId: string; clientSecret: string };
    queues: { id: string; name: string; agents: number; wrapupCodes: { name: string }[] }[];
    dids: { phoneNumber: string }[];
    customers: { externalId: string; firstName: string; lastName: string; phoneNumbers: string[] }[];
    requestsPerMinute: number;
  };
  const lines = [
    'Genesys Cloud simulator — demo organization',
    `  OAuth client id:     ${org.oauth.clientId}`,
    `  OAuth client secret: ${org.oauth.clientSecret}   (demo only, not a real credential)`,
    `  API and login host:  ${sim.url}   (GENESYS_BASE_URL=${sim.url})`,
  ];
  for (const q of org.queues) {
    lines.push(
      `  queue ${q.name.padEnd(8)} ${q.id}  agents ${q.agents}  wrap-up ${q.wrapupCodes.map((w) => w.name).join(', ')}`,
    );
  }
  lines.push(`  DIDs: ${org.dids.map((d) => d.phoneNumber).join(', ')}`);
  for (const c of org.customers) {
    lines.push(
      `  customer ${c.externalId} ${c.firstName} ${c.lastName} ${c.phoneNumbers.map((n) => maskNumber(n)).join(', ')}`,
    );
  }
  lines.push(
    `  rate limit ${org.requestsPerMinute}/min per token; control API under ${sim.url}/sim (GET /sim/org)`,
  );
  return lines;
}

export async function runSimulatorCli(opts: SimulatorCliOptions = {}): Promise<Simulator> {
  const print = opts.print ?? ((line: string) => console.log(line));
  // Signal handlers go in before anything else, so a SIGTERM that arrives while the server is
  // still starting (or right after it says it is listening) is a clean exit, never a kill.
  let sim: Simulator | undefined;
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    if (!sim) process.exit(0);
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  sim = await startSimulator({
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    realTime: true,
    log: print,
  });
  if (closing) {
    await sim.close();
    process.exit(0);
  }
  for (const line of describeOrg(sim)) print(line);
  print(`simulator listening on ${sim.url}`);
  return sim;
}

function parseArgs(argv: string[]): SimulatorCliOptions {
  const out: SimulatorCliOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if ((a === '--port' || a === '-p') && next !== undefined) {
      const port = Number(next);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`--port needs an integer from 0 to 65535, got ${next}`);
      }
      out.port = port;
      i++;
    } else if (a === '--host' && next !== undefined) {
      out.host = next;
      i++;
    } else if (a?.startsWith('--port=')) {
      out.port = Number(a.slice(7));
    } else {
      throw new Error(`unknown argument ${a}; usage: main.js [--port N] [--host 127.0.0.1]`);
    }
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await runSimulatorCli(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
}
