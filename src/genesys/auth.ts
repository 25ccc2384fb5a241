/**
 * OAuth client credentials for Genesys Cloud: one token shared by every caller, refreshed a
 * little before it expires, with a single request in flight however many callers ask at once.
 * Wrong credentials are a final error: nothing more is sent (a locked-out client would otherwise
 * hammer the login service, and every API call would fail anyway).
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../domain/types.js';
import { PlatformAuthError, PlatformError, stoppingError } from './errors.js';
import { errorFromAnswer, errorFromFailure, type RetryPolicy } from './retry.js';
import { exchange } from './transport.js';

/** Refused credentials: a `rejected` PlatformError (errors.ts), kept under its old name too. */
export { GENESYS_AUTH_FAILED, PlatformAuthError as GenesysAuthError } from './errors.js';

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
  /** The process's stop signal: aborts the token request and its retry sleeps. */
  signal?: AbortSignal;
}

interface CachedToken {
  value: string;
  expiresAt: number;
  refreshAt: number;
}

export class TokenProvider {
  private token: CachedToken | undefined;
  private inflight: Promise<string> | undefined;
  private failure: PlatformAuthError | undefined;
  private readonly opts: TokenProviderOptions;
  /** Token requests sent so far (tests and metrics). */
  requests = 0;

  constructor(opts: TokenProviderOptions) {
    this.opts = opts;
  }

  /**
   * A valid access token; refreshes (single flight) when none is cached or it is about to expire.
   * `signal` ends this caller's wait only: the one request goes on for the other callers.
   */
  async getToken(signal?: AbortSignal): Promise<string> {
    if (this.failure) throw this.failure;
    const now = this.opts.clock.now();
    if (this.token && now < this.token.refreshAt) return this.token.value;
    return untilAborted(this.refresh(), signal);
  }

  /**
   * The platform said 401 to `staleToken`: forget it (unless a newer one already replaced it)
   * and return a fresh one.
   */
  async renewAfterUnauthorized(staleToken: string, signal?: AbortSignal): Promise<string> {
    if (this.token?.value === staleToken) this.token = undefined;
    return this.getToken(signal);
  }

  /** Drops the cached token (the next call fetches a new one). */
  invalidate(): void {
    this.token = undefined;
  }

  // No caller signal here: the one request serves every waiting caller, so one caller giving up
  // must not fail the others (getToken races it with the caller's signal instead).
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
          ...(this.opts.signal ? { signal: this.opts.signal } : {}),
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
        throw new PlatformAuthError(status, detail);
      }, this.opts.signal);
    } catch (err) {
      if (err instanceof PlatformAuthError) {
        this.failure = err;
        this.token = undefined;
        this.opts.logger?.error({ code: err.code, httpStatus: err.httpStatus }, err.message);
      }
      throw err;
    }
  }
}

/** `promise`, or a PLATFORM_STOPPING failure as soon as `signal` aborts (the promise goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(stoppingError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stoppingError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
