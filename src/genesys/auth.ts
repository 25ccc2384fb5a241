/**
 * OAuth client credentials for Genesys Cloud: one token shared by every caller, refreshed a
 * little before it expires, with a single request in flight however many callers ask at once.
 * Wrong credentials are a final error: nothing more is sent (a locked-out client would otherwise
 * hammer the login service, and every API call would fail anyway).
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../domain/types.js';
import { PlatformError } from './port.js';
import { errorFromAnswer, errorFromFailure, type RetryPolicy } from './retry.js';
import { exchange } from './transport.js';

export const GENESYS_AUTH_FAILED = 'GENESYS_AUTH_FAILED';

/** The credentials were refused. Final: fix GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET and restart. */
export class GenesysAuthError extends Error {
  readonly code = GENESYS_AUTH_FAILED;
  constructor(
    readonly httpStatus: number,
    detail: string,
  ) {
    super(
      `${GENESYS_AUTH_FAILED}: Genesys refused the OAuth client credentials (${httpStatus}${detail ? `, ${detail}` : ''}); ` +
        'check GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (a client-credentials OAuth client of this org and region) and restart.',
    );
    this.name = 'GenesysAuthError';
  }
}

export interface AuthLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface TokenProviderOptions {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  dispatcher: Dispatcher;
  clock: Clock;
  requestTimeoutMs: number;
  /** Retries for the token request itself (429, 5xx, network). */
  retry: RetryPolicy;
  logger?: AuthLogger;
  /** Refresh this long before expiry at most; never more than a fifth of the token's lifetime. */
  refreshMarginMs?: number;
}

interface CachedToken {
  value: string;
  expiresAt: number;
  refreshAt: number;
}

export class TokenProvider {
  private token: CachedToken | undefined;
  private inflight: Promise<string> | undefined;
  private failure: GenesysAuthError | undefined;
  private readonly opts: TokenProviderOptions;
  /** Token requests sent so far (tests and metrics). */
  requests = 0;

  constructor(opts: TokenProviderOptions) {
    this.opts = opts;
  }

  /** A valid access token; refreshes (single flight) when none is cached or it is about to expire. */
  async getToken(): Promise<string> {
    if (this.failure) throw this.failure;
    const now = this.opts.clock.now();
    if (this.token && now < this.token.refreshAt) return this.token.value;
    return this.refresh();
  }

  /**
   * The platform said 401 to `staleToken`: forget it (unless a newer one already replaced it)
   * and return a fresh one.
   */
  async renewAfterUnauthorized(staleToken: string): Promise<string> {
    if (this.token?.value === staleToken) this.token = undefined;
    return this.getToken();
  }

  /** Drops the cached token (the next call fetches a new one). */
  invalidate(): void {
    this.token = undefined;
  }

  // No caller signal here: the one request serves every waiting caller, so one caller giving up
  // must not fail the others.
  private refresh(): Promise<string> {
    if (!this.inflight) {
      this.inflight = this.fetchToken().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private async fetchToken(): Promise<string> {
    const { loginUrl, clientId, clientSecret, dispatcher, clock, requestTimeoutMs } = this.opts;
    const basic = Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64');
    const url = `${loginUrl.replace(/\/+$/, '')}/oauth/token`;
    try {
      return await this.opts.retry.execute(async () => {
        const sentAt = clock.now();
        this.requests++;
        const ex = await exchange(dispatcher, {
          method: 'POST',
          url,
          headers: {
            authorization: `Basic ${basic}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: 'grant_type=client_credentials',
          timeoutMs: requestTimeoutMs,
        });
        if (ex.type !== 'answer') throw errorFromFailure(ex);
        const { status, body } = ex.answer;
        if (status >= 200 && status < 300) {
          const b = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
          if (typeof b.access_token !== 'string' || b.access_token === '') {
            throw new PlatformError(
              'retryable',
              {
                code: 'GENESYS_LOGIN_BAD_ANSWER',
                message: 'The token endpoint answered without an access_token.',
              },
              status,
            );
          }
          const lifetimeMs =
            (typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 86_400) * 1000;
          const marginMs = Math.min(this.opts.refreshMarginMs ?? 60_000, lifetimeMs / 5);
          this.token = {
            value: b.access_token,
            expiresAt: sentAt + lifetimeMs,
            refreshAt: sentAt + lifetimeMs - marginMs,
          };
          this.opts.logger?.debug({ expiresInSeconds: lifetimeMs / 1000 }, 'genesys token obtained');
          return b.access_token;
        }
        if (status === 429 || status >= 500) throw errorFromAnswer(ex.answer, clock.now());
        // Any other refusal of the login means the credentials (or the OAuth client's grant type) are wrong.
        const detail =
          body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string'
            ? String((body as { error: string }).error)
            : '';
        throw new GenesysAuthError(status, detail);
      });
    } catch (err) {
      if (err instanceof GenesysAuthError) {
        this.failure = err;
        this.token = undefined;
        this.opts.logger?.error({ code: err.code, httpStatus: err.httpStatus }, err.message);
      }
      throw err;
    }
  }
}
