/**
 * The CLI's client for callbackd's own API (schedule, status, cancel, list, import). It never
 * throws on an HTTP answer; only an unreachable server becomes a CliError (exit 3).
 */
import { Agent, request } from 'undici';
import { CliError, EXIT, usageError } from './exit.js';

export interface ApiTarget {
  url: string;
  key: string;
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export function resolveTarget(
  opts: { url?: string; key?: string },
  env: NodeJS.ProcessEnv = process.env,
): ApiTarget {
  const url = opts.url ?? env.CALLBACKD_URL ?? 'http://127.0.0.1:8080';
  const key = opts.key ?? env.CALLBACKD_KEY;
  if (!key)
    throw usageError(
      'no API key: pass --key cbk_… or set CALLBACKD_KEY (make one with `callbackd keys create`)',
    );
  try {
    new URL(url);
  } catch {
    throw usageError(`--url ${url} is not a URL; pass e.g. http://127.0.0.1:8080`);
  }
  return { url: url.replace(/\/+$/, ''), key };
}

export class ApiClient {
  private readonly agent: Agent;

  constructor(
    readonly target: ApiTarget,
    opts: { connections?: number; timeoutMs?: number } = {},
  ) {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    this.agent = new Agent({
      connections: opts.connections ?? 4,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: Math.min(timeoutMs, 10_000),
    });
  }

  /** Sends one request; throws CliError(exit 3) only when no HTTP answer came back. */
  async call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<ApiAnswer> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.target.key}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(this.target.url + path, {
        method,
        headers,
        dispatcher: this.agent,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new CliError(
        `callbackd at ${this.target.url} is unreachable: ${(err as Error).message}`,
        EXIT.unreachable,
      );
    }
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page, say): keep the text for the message.
    }
    return { status: res.statusCode, headers: res.headers, body: parsed };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The exit code an answer maps to: 2xx ok, 4xx refused, 5xx unreachable. */
export function exitCodeFor(status: number): 0 | 1 | 3 {
  if (status >= 200 && status < 300) return EXIT.ok;
  if (status >= 400 && status < 500) return EXIT.refused;
  return EXIT.unreachable;
}
