/**
 * One HTTP exchange with the platform, reduced to what the retry policy needs to decide:
 * an answer, a failure that surely happened before the request left this process, or a failure
 * after which the platform may or may not have acted on it.
 */
import { type Dispatcher, request } from 'undici';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  /** Serialised body (JSON or form). */
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, else the raw text ('' when empty). */
  body: unknown;
}

export type Exchange =
  | { type: 'answer'; answer: HttpAnswer }
  /** The request never reached the server (connection refused, DNS failure, connect timeout). */
  | { type: 'not-sent'; code: string }
  /** Sent (or possibly sent) but no usable answer: timeout, reset, socket closed mid-answer. */
  | { type: 'lost'; code: string }
  /** The caller's own signal aborted the request. */
  | { type: 'aborted' };

/** Error codes that undici/Node raise only while connecting, before a byte of the request is written. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

class TimeoutMarker extends Error {
  constructor() {
    super('request timed out');
  }
}

export async function exchange(dispatcher: Dispatcher, req: HttpRequest): Promise<Exchange> {
  if (req.signal?.aborted) return { type: 'not-sent', code: 'ABORTED' };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimeoutMarker()), req.timeoutMs);
  const onCallerAbort = () => controller.abort(req.signal?.reason);
  req.signal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    const res = await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      dispatcher,
      signal: controller.signal,
    });
    // Reading the body stays inside the timeout: a server that answers headers then stalls is
    // as unclear as one that never answers.
    const text = await res.body.text();
    return {
      type: 'answer',
      answer: {
        status: res.statusCode,
        headers: res.headers,
        body: parseBody(text, res.headers['content-type']),
      },
    };
  } catch (err) {
    if (req.signal?.aborted && !(controller.signal.reason instanceof TimeoutMarker))
      return { type: 'aborted' };
    if (err instanceof TimeoutMarker || controller.signal.reason instanceof TimeoutMarker) {
      return { type: 'lost', code: 'TIMEOUT' };
    }
    const code = errorCode(err);
    return NOT_SENT_CODES.has(code) ? { type: 'not-sent', code } : { type: 'lost', code };
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; cause?: { code?: unknown } };
    if (typeof e.code === 'string') return e.code;
    if (typeof e.cause?.code === 'string') return e.cause.code;
  }
  return 'NETWORK_ERROR';
}

function parseBody(text: string, contentType: string | string[] | undefined): unknown {
  if (text === '') return '';
  const ct = Array.isArray(contentType) ? contentType.join(';') : (contentType ?? '');
  if (ct.includes('json') || text.startsWith('{') || text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

export function headerValue(headers: HttpAnswer['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
