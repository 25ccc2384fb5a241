/**
 * The harness's API client: what a well-behaved integration does. It retries a request that got
 * no answer (refused or reset connection, the server killed mid-request) or a 503, with the same
 * body — the same callbackId — until it gets an answer or its deadline passes. That is what
 * callbackd's idempotency is for.
 */
import { Agent, request } from 'undici';
import { delay } from './util.js';

export const CALLBACKS_PATH = '/api/v2/routing/callbacks';

export interface Answer {
  /** HTTP status of the final answer; 0 when the deadline passed without one. */
  status: number;
  /** Idempotent-Replayed: true. */
  replayed: boolean;
  body: unknown;
  /** Requests sent, including the answered one. */
  attempts: number;
  /** Attempts that ended without an HTTP answer. */
  connectionErrors: number;
  /** Attempts answered 503 (retried). */
  unavailable: number;
  /** Other 5xx answers seen along the way (each one is a finding). */
  serverErrors: number[];
  /** Milliseconds from the first attempt to the final answer. */
  elapsedMs: number;
}

/** An answer before any attempt: a fresh object each time (its serverErrors list is filled in place). */
export function emptyAnswer(): Answer {
  return {
    status: 0,
    replayed: false,
    body: undefined,
    attempts: 0,
    connectionErrors: 0,
    unavailable: 0,
    serverErrors: [],
    elapsedMs: 0,
  };
}

export interface RetryingClientOptions {
  /** Where the API is now (null while it is down). */
  target: () => string | null;
  key: string;
  /** Give up on a request after this long. */
  deadlineMs: number;
  /** Pause between attempts (a little jitter is added). */
  retryDelayMs?: number;
}

export class RetryingClient {
  private readonly agent = new Agent({ keepAliveTimeout: 2_000, connections: 64 });

  constructor(private readonly opts: RetryingClientOptions) {}

  async post(path: string, body: string): Promise<Answer> {
    return this.send('POST', path, body);
  }

  async get(path: string): Promise<Answer> {
    return this.send('GET', path, undefined);
  }

  /** DELETE is safe to repeat (a cancel of a cancelled callback answers 200 again). */
  async delete(path: string): Promise<Answer> {
    return this.send('DELETE', path, undefined);
  }

  private async send(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: string | undefined,
  ): Promise<Answer> {
    const started = Date.now();
    const deadline = started + this.opts.deadlineMs;
    const answer = emptyAnswer();
    const pause = this.opts.retryDelayMs ?? 50;
    while (Date.now() < deadline) {
      const base = this.opts.target();
      if (base === null) {
        // Down between a kill and the restart: wait for it like a client behind a load balancer.
        await delay(pause / 2 + Math.random() * pause);
        continue;
      }
      answer.attempts++;
      try {
        const res = await request(base + path, {
          method,
          dispatcher: this.agent,
          headers: {
            authorization: `Bearer ${this.opts.key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body,
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
        });
        const text = await res.body.text();
        if (res.statusCode === 503) {
          answer.unavailable++;
          await delay(pause + Math.random() * pause);
          continue;
        }
        if (res.statusCode >= 500) {
          answer.serverErrors.push(res.statusCode);
          await delay(pause + Math.random() * pause);
          continue;
        }
        answer.status = res.statusCode;
        answer.replayed = res.headers['idempotent-replayed'] === 'true';
        answer.body = text === '' ? undefined : safeJson(text);
        break;
      } catch {
        answer.connectionErrors++;
        await delay(pause / 2 + Math.random() * pause);
      }
    }
    answer.elapsedMs = Date.now() - started;
    return answer;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
