/**
 * Diagnostic for the intake benchmark (BENCH_INTAKE_API_ONLY=1): callbackd's API exactly as
 * `callbackd serve` builds it (dist startApp, same config and environment), but with the engine
 * workers off — so a comparison in one run shows what the submitter and tracker running in the
 * same process cost the API's throughput and latency.
 *
 *   node --import tsx bench/lib/serve-api-only.ts <config file>   → prints "listening on <url>"
 */
import { createLogger } from '../../dist/api/logger.js';
import { startApp } from '../../dist/app.js';
import { loadConfig } from '../../dist/config/load.js';

const file = process.argv[2];
const config = loadConfig(file === undefined ? {} : { file });
const app = await startApp({ config, port: 0, workers: false, logger: createLogger() });
process.stdout.write(`listening on ${app.url}\n`);

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
