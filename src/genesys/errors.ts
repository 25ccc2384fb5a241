/**
 * The one typed hierarchy of platform failures, auth included, and the guards callers branch on
 * (`isRejected(err)`, not `instanceof` chains). Every failure of a platform call is a
 * PlatformError of one kind:
 * - `unclear`: the request may or may not have taken effect (timeout, reset after send, 502, 504);
 * - `retryable`: surely not applied and worth retrying later (429/503 after the client's own
 *   retries, a connection refused before sending, a call not sent because callbackd is stopping);
 * - `rejected`: refused for good, with a reason code. Refused credentials are a `rejected`
 *   PlatformAuthError (code GENESYS_AUTH_FAILED): nothing more is sent until a restart.
 */
import type { Reason } from '../domain/types.js';

export type PlatformErrorKind = 'unclear' | 'retryable' | 'rejected';

export class PlatformError extends Error {
  constructor(
    readonly kind: PlatformErrorKind,
    readonly reason: Reason,
    readonly httpStatus: number | null,
    /** The platform's Retry-After, when it sent one: the earliest moment a retry is welcome. */
    readonly retryAfterMs?: number,
  ) {
    super(`${reason.code}: ${reason.message}`);
    this.name = 'PlatformError';
  }
}

export const GENESYS_AUTH_FAILED = 'GENESYS_AUTH_FAILED';

/** The credentials were refused. Final: fix GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET and restart. */
export class PlatformAuthError extends PlatformError {
  readonly code = GENESYS_AUTH_FAILED;
  constructor(httpStatus: number, detail: string) {
    super(
      'rejected',
      {
        code: GENESYS_AUTH_FAILED,
        message:
          `Genesys refused the OAuth client credentials (${httpStatus}${detail ? `, ${detail}` : ''}); ` +
          'check GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (a client-credentials OAuth client of this org and region) and restart.',
      },
      httpStatus,
    );
    this.message = `${GENESYS_AUTH_FAILED}: ${this.reason.message}`;
    this.name = 'GenesysAuthError';
  }
}

/** Not sent: callbackd is stopping (the stop signal aborted the call before a byte left). */
export const PLATFORM_STOPPING = 'PLATFORM_STOPPING';

export function stoppingError(): PlatformError {
  return new PlatformError(
    'retryable',
    {
      code: PLATFORM_STOPPING,
      message: 'Not sent: callbackd is stopping; the next owner of the work retries it.',
    },
    null,
  );
}

/** Any failure of a platform call, auth included. */
export function isPlatformError(err: unknown): err is PlatformError {
  return err instanceof PlatformError;
}

/** The credentials were refused (final until restart). */
export function isAuthError(err: unknown): err is PlatformAuthError {
  return err instanceof PlatformAuthError;
}

/** Refused for good by the platform (other than the credentials). */
export function isRejected(err: unknown): boolean {
  return isPlatformError(err) && err.kind === 'rejected' && !isAuthError(err);
}

/** Surely not applied; worth trying again later. */
export function isRetryable(err: unknown): boolean {
  return isPlatformError(err) && err.kind === 'retryable';
}

/** May or may not have taken effect. */
export function isUnclear(err: unknown): boolean {
  return isPlatformError(err) && err.kind === 'unclear';
}

/** The platform answered 404 (the conversation or queue does not exist). */
export function isNotFound(err: unknown): err is PlatformError {
  return isPlatformError(err) && err.httpStatus === 404;
}
