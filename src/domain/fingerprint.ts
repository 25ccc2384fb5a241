/**
 * Fingerprint of a normalised spec: tells "same callbackId, same parameters" (replay the
 * original 201) from "same id, different parameters" (409). Canonical JSON with sorted keys,
 * numbers in E.164 and the time in canonical UTC, so key order, number formatting and time
 * notation never change it.
 */
import { createHash } from 'node:crypto';
import { normalisePhone } from './phone.js';
import { parseInstant } from './time.js';
import type { CallbackSpec } from './types.js';

/** JSON with object keys sorted at every depth and undefined members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const json = JSON.stringify(value);
    return json === undefined ? 'null' : json;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * Re-normalise the fields that have several notations. validateCallbackRequest already emits
 * them normalised; doing it again here keeps the fingerprint stable for specs built elsewhere.
 */
export function normaliseSpec(spec: CallbackSpec): CallbackSpec {
  const phone = (n: string) => normalisePhone(n) ?? n;
  const time = parseInstant(spec.scheduledTime);
  return {
    ...spec,
    callbackNumber: phone(spec.callbackNumber),
    callbackFrom: phone(spec.callbackFrom),
    callbackTo: phone(spec.callbackTo),
    scheduledTime: time.ok ? time.iso : spec.scheduledTime,
  };
}

/** SHA-256 hex of the canonical JSON of the normalised spec. */
export function fingerprintSpec(spec: CallbackSpec): string {
  return createHash('sha256')
    .update(canonicalJson(normaliseSpec(spec)), 'utf8')
    .digest('hex');
}
