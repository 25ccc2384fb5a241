/**
 * `npm run chaos`: the three reliability scenarios at full size, one after another (they share
 * the machine's two cores, so never at once). Each prints its figures and a verdict and writes
 * bench/results/<name>.json; the exit code is non-zero when any of them found a violation.
 *
 *   npm run chaos                      # build, then all three
 *   npx tsx bench/chaos/index.ts chaos restart   # a subset (names: chaos, bad-input, restart)
 *   npm run chaos -- --ledger postgres --instances 3   # chaos on a 3-instance PostgreSQL cluster
 *                                                      # (CALLBACKD_TEST_PG_URL names the server)
 */
import { formatBadInput, runBadInput } from '../../test/reliability/chaos/bad-input.js';
import { chaosOptionsFromArgs, formatChaos, runChaos } from '../../test/reliability/chaos/chaos.js';
import { round } from '../../test/reliability/chaos/lib/util.js';
import { formatRestart, runRestart } from '../../test/reliability/chaos/restart.js';

const args = process.argv.slice(2);
// Flags (--ledger postgres --instances 3 …) go to the chaos scenario; the rest are scenario names.
const flagged = new Set([
  '--ledger',
  '--instances',
  '--budget',
  '--requests',
  '--kills',
  '--seed',
  '--cancel-share',
]);
const asked: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (flagged.has(args[i]!)) i++;
  else if (!args[i]!.startsWith('--')) asked.push(args[i]!);
}
const chaosOptions = chaosOptionsFromArgs(args);

const SCENARIOS = {
  chaos: async () => {
    const r = await runChaos({ ...chaosOptions, log: (l) => console.log(l) });
    return { ok: r.ok, lines: formatChaos(r), verdict: r.verdict, seconds: r.durationsMs.total / 1000 };
  },
  'bad-input': async () => {
    const r = await runBadInput({ log: (l) => console.log(l) });
    return { ok: r.ok, lines: formatBadInput(r), verdict: r.verdict, seconds: r.durationMs / 1000 };
  },
  restart: async () => {
    const r = await runRestart({ log: (l) => console.log(l) });
    return { ok: r.ok, lines: formatRestart(r), verdict: r.verdict, seconds: r.durationsMs.total / 1000 };
  },
} as const;

type Name = keyof typeof SCENARIOS;

const unknown = asked.filter((a) => !(a in SCENARIOS));
if (unknown.length > 0) {
  console.error(
    `unknown scenario(s) ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}`,
  );
  process.exit(2);
}
// The restart and bad-input scenarios are about one serve on a SQLite file: a cluster run is chaos alone.
const defaults = chaosOptions.ledger === 'postgres' ? ['chaos'] : Object.keys(SCENARIOS);
const names = (asked.length > 0 ? asked : defaults) as Name[];

const summary: string[] = [];
let failed = 0;
for (const name of names) {
  console.log(`\n=== ${name} ===`);
  try {
    const r = await SCENARIOS[name]();
    for (const line of r.lines) console.log(line);
    summary.push(`${r.ok ? 'PASS' : 'FAIL'}  ${name.padEnd(9)} ${round(r.seconds, 1)} s  ${r.verdict}`);
    if (!r.ok) failed++;
  } catch (err) {
    // A harness that cannot run is a failure too, never a silent pass.
    failed++;
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(message);
    summary.push(`FAIL  ${name.padEnd(9)} the scenario could not run: ${message.split('\n')[0]}`);
  }
}
console.log('\n=== reliability summary (results in bench/results/) ===');
for (const line of summary) console.log(line);
process.exitCode = failed > 0 ? 1 : 0;
