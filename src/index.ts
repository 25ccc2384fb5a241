/**
 * callbackd as a library: run the whole service in-process, or use its parts (the API server,
 * keys, config, ledger, Genesys client, simulator, domain rules, webhook signature check).
 */

export { SIGNATURE_HEADER, signatureHeader, verifySignature } from './adapters/crm-webhook.js';
export { createApiKey, hashKey, KEY_PATTERN, parseScopes, verifyApiKey } from './api/keys.js';
export { createLogger } from './api/logger.js';
export { ApiError, type Problem } from './api/problem.js';
export { type ApiDeps, apiRoutes, type QueueInfo } from './api/routes.js';
export { type BuildServerOptions, buildServer } from './api/server.js';
export { type App, type AppOptions, startApp, VERSION, type Worker } from './app.js';
export {
  type CallbackdConfig,
  type CallbackdConfigInput,
  ConfigError,
  defaultConfigInput,
  loadConfig,
} from './config/index.js';
export * from './domain/index.js';
export { createGenesysClient, type GenesysClient, type GenesysClientOptions } from './genesys/client.js';
export type { GenesysPort } from './genesys/port.js';
export { openStore } from './ledger/index.js';
export type { Store } from './ledger/port.js';
export { type Simulator, type SimulatorOptions, startSimulator } from './simulator/index.js';
