/**
 * Retry policy and backoff, kept apart (cockatiel style): the policy decides *whether* to try
 * again, the backoff decides *when*. Plus the classification of one HTTP exchange into success
 * or a PlatformError of a known kind.
 */
import { type Backoff, backoffMs } from '../shared/backoff.js';
import { sleep as realSleep, type Sleep } from '../shared/sleep.js';
import { PlatformError } from './port.js';
import { type Exchange, type HttpAnswer, headerValue } from './transport.js';

export type { Backoff } from '../shared/backoff.js';
export type { Sleep } from '../shared/sleep.js';

/** AWS "full jitter" over the one shared backoff (src/shared/backoff.ts). */
export class FullJitterBackoff implements Backoff {
  constructor(
    private readonly opts: { baseDelayMs: number; maxDelayMs: number },
    private readonly random: () => number = Math.random,
  ) {}

  delayMs(retry: number): number {
    return backoffMs(retry, { ...this.opts, jitter: 'full' }, this.random);
  }
}

export interface RetryPolicyOptions {
  /** Retries after the first attempt (0 = try once). */
  maxRetries: number;
  backoff: Backoff;
  /** A Retry-After longer than this is not waited out here: the error goes to the caller, who reschedules. */
  maxRetryAfterMs: number;
  /** Which failures are worth another attempt. */
  shouldRetry: (err: PlatformError) => boolean;
  sleep?: Sleep;
  onRetry?: (info: { retry: number; delayMs: number; error: PlatformError }) => void;
}

export class RetryPolicy {
  constructor(private readonly opts: RetryPolicyOptions) {}

  /** Runs `attempt` until it returns, throws a non-retryable error, or the retries run out. */
  async execute<T>(attempt: (n: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const sleep = this.opts.sleep ?? realSleep;
    for (let n = 0; ; n++) {
      try {
        return await attempt(n);
      } catch (err) {
        if (!(err instanceof PlatformError) || !this.opts.shouldRetry(err) || n >= this.opts.maxRetries)
          throw err;
        if (err.retryAfterMs !== undefined && err.retryAfterMs > this.opts.maxRetryAfterMs) throw err;
        // Retry-After is the server's word and wins over our own guess; jitter applies only without it.
        const delayMs = err.retryAfterMs ?? this.opts.backoff.delayMs(n + 1);
        this.opts.onRetry?.({ retry: n + 1, delayMs, error: err });
        await sleep(delayMs, signal);
        if (signal?.aborted) throw err;
      }
    }
  }
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Stable reason codes for final platform refusals. */
export const STATUS_REASON_CODES: Readonly<Record<number, string>> = {
  400: 'PLATFORM_BAD_REQUEST',
  403: 'PLATFORM_FORBIDDEN',
  404: 'PLATFORM_NOT_FOUND',
  405: 'PLATFORM_METHOD_NOT_ALLOWED',
  409: 'PLATFORM_CONFLICT',
  410: 'PLATFORM_GONE',
  413: 'PLATFORM_TOO_LARGE',
  415: 'PLATFORM_UNSUPPORTED_MEDIA_TYPE',
  422: 'PLATFORM_UNPROCESSABLE',
};

/**
 * Platform error codes that mean something more specific than their HTTP status. Empty on
 * purpose: no SDK, doc or public code names a capacity refusal code (GENESYS.md), so a create is
 * never taken as "queue full" from a code callbackd made up; capacity refusal is a flow outcome
 * mapped through the queue's wrapUpOutcomes.
 */
export const PLATFORM_CODE_REASONS: Readonly<Record<string, string>> = {};

const WHAT_TO_DO: Readonly<Record<string, string>> = {
  PLATFORM_BAD_REQUEST: 'the platform refused the request body; check the queue, numbers and scheduled time',
  PLATFORM_FORBIDDEN:
    'the OAuth client lacks a permission; grant its role conversation:callback:create/edit and analytics:conversationDetail:view',
  PLATFORM_NOT_FOUND: 'the queue or conversation does not exist in this Genesys org',
};

/** Digits runs of 5+ are masked to their last 4, so a platform message never leaks a phone number. */
export function maskDigits(text: string): string {
  return text.replace(/\+?\d[\d\s-]{4,}\d/g, (m) => {
    const digits = m.replace(/\D/g, '');
    return digits.length >= 5 ? `***${digits.slice(-4)}` : m;
  });
}

function platformMessage(body: unknown): { code?: string; message?: string } {
  if (body && typeof body === 'object') {
    const b = body as { code?: unknown; message?: unknown };
    return {
      code: typeof b.code === 'string' ? b.code : undefined,
      message: typeof b.message === 'string' ? maskDigits(b.message).slice(0, 300) : undefined,
    };
  }
  return {};
}

/**
 * Maps a non-2xx answer to a PlatformError:
 * 429/503 → retryable (with Retry-After); 502/504/other 5xx → unclear (the platform may have acted);
 * 401 → retryable (our credentials, not the callback, are at fault); other 4xx → rejected.
 */
export function errorFromAnswer(answer: HttpAnswer, nowMs: number): PlatformError {
  const { status } = answer;
  const platform = platformMessage(answer.body);
  const said = platform.message
    ? ` Genesys said: ${platform.code ? `${platform.code}: ` : ''}${platform.message}`
    : '';
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfterMs(headerValue(answer.headers, 'retry-after'), nowMs);
    const code = status === 429 ? 'PLATFORM_RATE_LIMITED' : 'PLATFORM_UNAVAILABLE';
    return new PlatformError(
      'retryable',
      { code, message: `Genesys answered ${status}; try again later.${said}` },
      status,
      retryAfterMs,
    );
  }
  if (status === 401) {
    return new PlatformError(
      'retryable',
      {
        code: 'PLATFORM_UNAUTHORIZED',
        message: 'Genesys refused a freshly issued token (401); check the OAuth client and its roles.',
      },
      status,
    );
  }
  if (status >= 500) {
    return new PlatformError(
      'unclear',
      {
        code:
          status === 504
            ? 'PLATFORM_GATEWAY_TIMEOUT'
            : status === 502
              ? 'PLATFORM_BAD_GATEWAY'
              : 'PLATFORM_ERROR',
        message: `Genesys answered ${status}; the request may or may not have taken effect.${said}`,
      },
      status,
    );
  }
  const mapped = platform.code !== undefined ? PLATFORM_CODE_REASONS[platform.code] : undefined;
  if (mapped)
    return new PlatformError(
      'rejected',
      { code: mapped, message: `Genesys answered ${status}.${said}` },
      status,
    );
  const code = STATUS_REASON_CODES[status] ?? 'PLATFORM_REFUSED';
  const hint = WHAT_TO_DO[code];
  return new PlatformError(
    'rejected',
    { code, message: `Genesys answered ${status}${hint ? `: ${hint}` : ''}.${said}` },
    status,
  );
}

/** Maps an exchange that got no answer to a PlatformError. */
export function errorFromFailure(ex: Exclude<Exchange, { type: 'answer' }>): PlatformError {
  switch (ex.type) {
    case 'not-sent':
      return new PlatformError(
        'retryable',
        {
          code: 'PLATFORM_UNREACHABLE',
          message: `Could not connect to Genesys (${ex.code}); nothing was sent.`,
        },
        null,
      );
    case 'lost':
      return new PlatformError(
        'unclear',
        {
          code: ex.code === 'TIMEOUT' ? 'PLATFORM_TIMEOUT' : 'PLATFORM_CONNECTION_LOST',
          message: `No answer from Genesys (${ex.code}); the request may or may not have taken effect.`,
        },
        null,
      );
    case 'aborted':
      return new PlatformError(
        'unclear',
        {
          code: 'PLATFORM_ABORTED',
          message: 'The request was aborted by the caller before an answer arrived.',
        },
        null,
      );
  }
}
