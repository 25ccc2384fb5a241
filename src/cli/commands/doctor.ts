/**
 * `callbackd doctor`: a dry run against the platform. Checks the credentials, the permissions
 * callbackd's calls need, and that every configured queue, wrap-up code and DID exists; prints
 * each finding with what to fix. Sends nothing that changes the platform.
 */
import { VERSION } from '../../app.js';
import { clusterFindings } from '../../cluster/doctor-check.js';
import { type CallbackdConfig, genesysEndpoints } from '../../config/schema.js';
import { GenesysAuthError } from '../../genesys/auth.js';
import { createGenesysClient, type GenesysClient } from '../../genesys/client.js';
import { PlatformError } from '../../genesys/port.js';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, type Simulator, startSimulator } from '../../simulator/index.js';
import { EXIT, type ExitCode } from '../exit.js';
import { formatProbe, runProbe } from './probe.js';

export interface Finding {
  ok: boolean;
  check: string;
  /** What is wrong and what to do, when not ok. */
  fix?: string;
}

/** The OAuth permission behind each platform call doctor makes. */
const PERMISSIONS = {
  queue: 'routing:queue:view',
  wrapup: 'routing:wrapupCode:view',
  dids: 'telephony:plugin:all (or a role that can list DIDs)',
  observations: 'analytics:queueObservation:view',
  details: 'analytics:conversationDetail:view',
  attributes: 'conversation:participant:attributesview',
};

type Outcome<T> = { ok: true; value: T } | { ok: false; fatal: boolean; fix: string };

async function attempt<T>(what: string, permission: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof GenesysAuthError) {
      return { ok: false, fatal: true, fix: err.message };
    }
    if (err instanceof PlatformError) {
      if (err.httpStatus === 403) {
        return {
          ok: false,
          fatal: false,
          fix: `${what} was refused (403): grant the OAuth client's role the permission ${permission}`,
        };
      }
      if (err.kind !== 'rejected') {
        return {
          ok: false,
          fatal: true,
          fix: `${what} failed (${err.reason.code}: ${err.reason.message}); check the region/base URL and the network`,
        };
      }
      return {
        ok: false,
        fatal: false,
        fix: `${what} was refused (${err.reason.code}: ${err.reason.message})`,
      };
    }
    return { ok: false, fatal: true, fix: `${what} failed: ${(err as Error).message}` };
  }
}

export async function diagnose(
  config: CallbackdConfig,
  genesys: GenesysClient,
  nowMs: number,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const queueIds = Object.keys(config.queues);
  if (queueIds.length === 0) {
    findings.push({
      ok: false,
      check: 'queues configured',
      fix: 'the config has no queues; add them under `queues:` in the config file',
    });
    return findings;
  }

  // The first call also proves the credentials: a refused login stops everything else.
  const dids = await attempt('listing DIDs', PERMISSIONS.dids, () => genesys.listDids());
  if (!dids.ok && dids.fatal) {
    findings.push({ ok: false, check: 'credentials', fix: dids.fix });
    return findings;
  }
  findings.push({ ok: true, check: 'credentials: an OAuth token was issued' });
  findings.push(
    dids.ok
      ? { ok: true, check: 'permission to list DIDs' }
      : { ok: false, check: 'permission to list DIDs', fix: dids.fix },
  );
  const didSet = new Set(dids.ok ? dids.value : []);

  const obs = await attempt('the queue observations query', PERMISSIONS.observations, () =>
    genesys.queueObservations(queueIds),
  );
  findings.push(
    obs.ok
      ? { ok: true, check: 'permission to read queue observations (capacity pre-flight)' }
      : { ok: false, check: 'permission to read queue observations (capacity pre-flight)', fix: obs.fix },
  );
  // The look-up by callbackId after an unclear create needs both (genesys/lookup.ts).
  const lookupChecks = [
    {
      check: 'permission to query conversation details (look-up by queue and number after an unclear create)',
      what: 'the conversation details query',
      permission: PERMISSIONS.details,
      run: () =>
        genesys.findCallbackCandidates({
          queueIds,
          callbackNumber: '+10000000000',
          from: nowMs - 3_600_000,
          to: nowMs,
          maxPages: 1,
        }),
    },
    {
      check: 'permission to search participant attributes (look-up by callbackId after an unclear create)',
      what: 'the participant-attributes search',
      permission: PERMISSIONS.attributes,
      run: () => genesys.searchAttributes(nowMs - 3_600_000, nowMs, 1),
    },
  ];
  for (const c of lookupChecks) {
    const r = await attempt<unknown>(c.what, c.permission, c.run);
    findings.push(r.ok ? { ok: true, check: c.check } : { ok: false, check: c.check, fix: r.fix });
  }

  for (const [id, policy] of Object.entries(config.queues)) {
    const label = `queue ${policy.name} (${id})`;
    const queue = await attempt(`reading ${label}`, PERMISSIONS.queue, () => genesys.getQueue(id));
    if (!queue.ok) {
      findings.push({ ok: false, check: `${label} exists`, fix: queue.fix });
      continue;
    }
    if (!queue.value) {
      findings.push({
        ok: false,
        check: `${label} exists`,
        fix: `no queue ${id} on the platform; put the queue's id (Admin > Queues) under queues: in the config`,
      });
      continue;
    }
    findings.push({
      ok: true,
      check: `${label} exists${queue.value.name && queue.value.name !== policy.name ? ` (named "${queue.value.name}" on the platform)` : ''}`,
    });
    if (policy.wrapUpCodes.length > 0) {
      const codes = await attempt(`listing the wrap-up codes of ${label}`, PERMISSIONS.wrapup, () =>
        genesys.listWrapupCodes(id),
      );
      if (!codes.ok) findings.push({ ok: false, check: `wrap-up codes of ${label}`, fix: codes.fix });
      else {
        const known = new Set(codes.value.flatMap((c) => [c.name, c.id]));
        for (const code of policy.wrapUpCodes) {
          findings.push(
            known.has(code)
              ? { ok: true, check: `wrap-up code ${code} on ${label}` }
              : {
                  ok: false,
                  check: `wrap-up code ${code} on ${label}`,
                  fix: `the queue has no wrap-up code ${code} (it has ${codes.value.map((c) => c.name).join(', ') || 'none'}); add it to the queue or remove it from queues.${id}.wrapUpCodes`,
                },
          );
        }
      }
    }
    if (dids.ok) {
      for (const did of policy.dids) {
        findings.push(
          didSet.has(did.number)
            ? { ok: true, check: `DID ${did.number} for ${label}` }
            : {
                ok: false,
                check: `DID ${did.number} for ${label}`,
                fix: `the org has no DID ${did.number}; provision it (Telephony > DIDs) or fix queues.${id}.dids`,
              },
        );
      }
    }
  }
  return findings;
}

export interface ProbeArgs {
  queue: string;
  number: string;
  json: boolean;
  waitSeconds: number;
}

/** The platform named by the config, or the built-in simulator when it names none (said so first). */
async function connect(
  config: CallbackdConfig,
  print: (line: string) => void,
): Promise<{ genesys: GenesysClient; simulator: Simulator | null }> {
  const endpoints = genesysEndpoints(config.genesys);
  if (endpoints.mode === 'simulator') {
    print(
      '! no Genesys credentials configured (GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_REGION or GENESYS_BASE_URL):',
    );
    print(
      '  `callbackd serve` would run the built-in simulator. Checking the configuration against the simulator.',
    );
    const simulator = await startSimulator({ realTime: true });
    const genesys = createGenesysClient({
      baseUrl: simulator.url,
      clientId: DEMO_CLIENT_ID,
      clientSecret: DEMO_CLIENT_SECRET,
      maxRetries: 1,
    });
    return { genesys, simulator };
  }
  print(`checking ${endpoints.apiUrl} (login ${endpoints.loginUrl}) as OAuth client ${endpoints.clientId}`);
  const genesys = createGenesysClient({
    baseUrl: endpoints.apiUrl,
    loginUrl: endpoints.loginUrl,
    clientId: endpoints.clientId,
    clientSecret: endpoints.clientSecret,
    maxRetries: 1,
  });
  return { genesys, simulator: null };
}

/**
 * `doctor --probe`: one real callback far ahead, each assumption checked, the callback
 * disconnected again; Ctrl-C cuts the wait short and still disconnects it (exit 130).
 */
export async function runDoctorProbe(
  config: CallbackdConfig,
  print: (line: string) => void,
  args: ProbeArgs,
): Promise<ExitCode> {
  const policy = config.queues[args.queue];
  const from = policy?.dids[0]?.number;
  if (!from) {
    print(
      `✗ --queue ${args.queue} is not a configured queue (one of ${Object.keys(config.queues).join(', ')}): the probe needs its caller id`,
    );
    return EXIT.usage;
  }
  const human = args.json ? () => undefined : print;
  const { genesys, simulator } = await connect(config, human);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    const report = await runProbe(genesys, {
      queueId: args.queue,
      callbackNumber: args.number,
      callbackFrom: from,
      waitSeconds: args.waitSeconds,
      signal: controller.signal,
    });
    if (args.json) print(JSON.stringify(report, null, 2));
    else for (const line of formatProbe(report)) print(line);
    if (controller.signal.aborted) return EXIT.interrupted;
    return report.ok ? EXIT.ok : EXIT.refused;
  } finally {
    process.off('SIGINT', onSigint);
    await genesys.close();
    await simulator?.close();
  }
}

export async function runDoctor(config: CallbackdConfig, print: (line: string) => void): Promise<ExitCode> {
  const { genesys, simulator } = await connect(config, print);
  try {
    const findings = [
      ...(await diagnose(config, genesys, Date.now())),
      ...(await clusterFindings(config, VERSION)),
    ];
    for (const f of findings) {
      print(`${f.ok ? '✓' : '✗'} ${f.check}`);
      if (!f.ok && f.fix) print(`    fix: ${f.fix}`);
    }
    const failed = findings.filter((f) => !f.ok);
    print(failed.length === 0 ? 'doctor: all checks passed' : `doctor: ${failed.length} problem(s) to fix`);
    if (
      failed.some(
        (f) =>
          f.check === 'credentials' &&
          /failed|network/.test(f.fix ?? '') &&
          !/refused the OAuth/.test(f.fix ?? ''),
      )
    ) {
      return EXIT.unreachable;
    }
    return failed.length === 0 ? EXIT.ok : EXIT.refused;
  } finally {
    await genesys.close();
    await simulator?.close();
  }
}
