/**
 * Dashboard sessions: the API key is posted once and exchanged for a random token in an HttpOnly,
 * SameSite=Strict cookie, so the key never sits in page storage. The ledger keeps the token's
 * SHA-256 and the key's id; every request re-reads the key, so its tenant and scopes apply and
 * revoking it ends the session at once.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { EpochMs } from '../domain/types.js';
import {
  type DashboardLedger,
  endSession,
  findSessionKey,
  insertSession,
} from '../ledger/dashboard-queries.js';
import type { ApiKeyRecord } from '../ledger/port.js';
import { hashKey } from './keys.js';

export const SESSION_COOKIE = 'callbackd_session';
/** A supervisor's shift; signing in again is one paste. */
export const SESSION_TTL_MS = 12 * 3_600_000;

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Secure only over HTTPS: browsers drop Secure cookies set by plain-HTTP origins other than localhost. */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function isHttps(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export interface Sessions {
  create(key: ApiKeyRecord, now: EpochMs): Promise<{ token: string; expiresAt: EpochMs }>;
  /** The live key behind the request's session cookie, if any. */
  verify(req: FastifyRequest, now: EpochMs): Promise<ApiKeyRecord | undefined>;
  end(req: FastifyRequest, now: EpochMs): Promise<void>;
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function createSessions(ledger: DashboardLedger): Sessions {
  const tokenOf = (req: FastifyRequest) => {
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    return token && TOKEN_PATTERN.test(token) ? token : undefined;
  };
  return {
    async create(key, now) {
      const token = randomBytes(32).toString('base64url');
      const expiresAt = now + SESSION_TTL_MS;
      await insertSession(ledger, { hash: hashKey(token), apiKeyId: key.id, createdAt: now, expiresAt });
      return { token, expiresAt };
    },
    async verify(req, now) {
      const token = tokenOf(req);
      return token ? findSessionKey(ledger, hashKey(token), now) : undefined;
    },
    async end(req, now) {
      const token = tokenOf(req);
      if (token) await endSession(ledger, hashKey(token), now);
    },
  };
}
