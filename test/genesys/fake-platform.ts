/**
 * A tiny scripted HTTP server on 127.0.0.1 for the client's unit tests: each test decides the
 * answer per request, and every request (token or API) is recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/domain/types.js';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: unknown;
}

export type Reply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | 'reset'
  | 'hang'
  /** Answer headers, then stall the body until the client gives up. */
  | 'stall-body';

export type Handler = (req: Recorded, n: { all: number; api: number }) => Reply | Promise<Reply>;

export interface FakePlatform {
  url: string;
  requests: Recorded[];
  api(): Recorded[];
  tokenRequests(): Recorded[];
  setHandler(h: Handler): void;
  close(): Promise<void>;
}

/** Handles POST /oauth/token with a fixed token unless the handler answers it. */
export async function startFakePlatform(handler: Handler): Promise<FakePlatform> {
  let current = handler;
  const requests: Recorded[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const rec: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        json,
      };
      requests.push(rec);
      const reply = await current(rec, {
        all: requests.length,
        api: requests.filter((r) => !r.path.startsWith('/oauth')).length,
      });
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      if (reply === 'hang') return;
      if (reply === 'stall-body') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"conversation":');
        return;
      }
      const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    api: () => requests.filter((r) => !r.path.startsWith('/oauth')),
    tokenRequests: () => requests.filter((r) => r.path.startsWith('/oauth')),
    setHandler: (h) => {
      current = h;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function tokenReply(token: string, expiresInSeconds = 86_400): Reply {
  return { status: 200, body: { access_token: token, token_type: 'bearer', expires_in: expiresInSeconds } };
}

export class ManualClock implements Clock {
  constructor(public t = Date.parse('2030-01-01T00:00:00.000Z')) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A sleep that takes no real time: it records the delay and moves the manual clock. */
export function virtualSleep(clock: ManualClock, log: number[] = []) {
  return {
    log,
    sleep: async (ms: number) => {
      log.push(ms);
      clock.advance(ms);
    },
  };
}

/** A logger that keeps every line as JSON text, to prove secrets never reach it. */
export function captureLogger() {
  const lines: string[] = [];
  const rec = (level: string) => (obj: Record<string, unknown>, msg: string) => {
    lines.push(JSON.stringify({ level, ...obj, msg }));
  };
  return { lines, logger: { debug: rec('debug'), warn: rec('warn'), error: rec('error') } };
}
