/**
 * API keys: `cbk_` + 40 random base62 characters. The ledger keeps only the SHA-256 hex of a key;
 * the key itself is shown once, at creation.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock, Scope } from '../domain/types.js';
import { SCOPES } from '../domain/types.js';
import type { ApiKeyRecord, Store } from '../ledger/port.js';

export const KEY_PREFIX = 'cbk_';
const KEY_RANDOM_CHARS = 40;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Accepts keys of at least 32 random characters so longer keys minted elsewhere still work. */
export const KEY_PATTERN = /^cbk_[0-9A-Za-z]{32,128}$/;
export const TENANT_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Uniform base62 by rejection sampling (bytes >= 248 would bias the modulo). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export function parseScopes(list: string): Scope[] {
  const wanted = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const expanded = wanted.flatMap((s) => (s === 'all' || s === '*' ? [...SCOPES] : [s]));
  const unknown = expanded.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new Error(`unknown scope(s) ${unknown.join(', ')}; use any of ${SCOPES.join(', ')} or "all"`);
  }
  if (expanded.length === 0) throw new Error(`no scopes given; use any of ${SCOPES.join(', ')} or "all"`);
  return [...new Set(expanded)] as Scope[];
}

export interface CreatedKey {
  /** The key itself: shown once, never stored. */
  key: string;
  record: ApiKeyRecord;
}

export async function createApiKey(
  store: Store,
  opts: { tenantId: string; scopes: readonly Scope[]; name?: string; clock: Clock; key?: string },
): Promise<CreatedKey> {
  if (!TENANT_PATTERN.test(opts.tenantId)) {
    throw new Error(`tenant "${opts.tenantId}" is not valid; use 1-64 of A-Z a-z 0-9 . _ -`);
  }
  const key = opts.key ?? KEY_PREFIX + randomBase62(KEY_RANDOM_CHARS);
  if (!KEY_PATTERN.test(key)) throw new Error('a key must be cbk_ followed by 32-128 base62 characters');
  const record: ApiKeyRecord = {
    id: `key_${randomBase62(16)}`,
    tenantId: opts.tenantId,
    name: opts.name ?? '',
    hash: hashKey(key),
    scopes: [...opts.scopes],
    createdAt: opts.clock.now(),
    revokedAt: null,
  };
  await store.createApiKey(record);
  return { key, record };
}

/** The live key record for a presented key, or undefined when unknown, malformed or revoked. */
export async function verifyApiKey(store: Store, presented: string): Promise<ApiKeyRecord | undefined> {
  if (!KEY_PATTERN.test(presented)) return undefined;
  const hash = hashKey(presented);
  const record = await store.findApiKeyByHash(hash);
  if (!record || !sameHash(record.hash, hash) || record.revokedAt !== null) return undefined;
  return record;
}
