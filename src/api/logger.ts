/**
 * The one pino logger configuration for callbackd: structured JSON, with every field that could
 * carry a secret, a key or a whole phone number redacted wherever it appears.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  'key',
  '*.key',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'clientSecret',
  '*.clientSecret',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'callbackNumber',
  '*.callbackNumber',
  'callbackNumbers',
  '*.callbackNumbers',
  'body',
  '*.body',
];

export function createLogger(
  opts: { level?: string; name?: string } = {},
  destination?: DestinationStream,
): Logger {
  const options = {
    level: opts.level ?? process.env.CALLBACKD_LOG_LEVEL ?? 'info',
    name: opts.name ?? 'callbackd',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return destination ? pino(options, destination) : pino(options);
}
