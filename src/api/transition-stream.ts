/**
 * The transition stream as server-sent events. Each open stream reads callback_history by id
 * (monotonic, never renumbered) after the last id it sent, so several callbackd processes on one
 * PostgreSQL ledger all see every change, and a client that reconnects with Last-Event-ID misses
 * nothing. One cheap indexed read per stream per poll interval; a comment line keeps proxies
 * from closing an idle stream.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  type DashboardLedger,
  latestTransitionId,
  type TransitionRow,
  transitionsAfter,
} from '../ledger/dashboard-queries.js';
import { SECURITY_HEADERS } from './security.js';

export interface TransitionStreams {
  /** Takes over the reply and streams transitions after `afterId` (null: from now on). */
  open(req: FastifyRequest, reply: FastifyReply, tenantId: string, afterId: number | null): Promise<void>;
  latestId(): Promise<number>;
  /** Ends every open stream (before the server closes, which would otherwise wait for them). */
  closeAll(): void;
  readonly size: number;
}

export function toTransition(r: TransitionRow) {
  return {
    id: r.id,
    callbackId: r.callbackId,
    queueId: r.queueId,
    status: r.status,
    reason: r.reasonCode === null ? null : { code: r.reasonCode, message: r.reasonMessage ?? '' },
    at: new Date(r.at).toISOString(),
  };
}

export function createTransitionStreams(
  ledger: DashboardLedger,
  opts: {
    pollIntervalMs?: number;
    heartbeatMs?: number;
    batch?: number;
    onError?: (err: unknown) => void;
  } = {},
): TransitionStreams {
  const pollIntervalMs = opts.pollIntervalMs ?? 500;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const batch = opts.batch ?? 200;
  const open = new Set<() => void>();

  return {
    get size() {
      return open.size;
    },
    latestId: () => latestTransitionId(ledger),
    closeAll() {
      for (const end of [...open]) end();
    },
    async open(req, reply, tenantId, afterId) {
      let after = afterId ?? (await latestTransitionId(ledger));
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // The browser reconnects 2 s after a drop, sending the last id it saw.
      res.write(`retry: 2000\n: after ${after}\n\n`);
      let timer: NodeJS.Timeout | undefined;
      let lastWrite = Date.now();
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        open.delete(end);
        res.end();
      };
      open.add(end);
      req.raw.on('close', end);
      const tick = async () => {
        try {
          for (;;) {
            const rows = await transitionsAfter(ledger, tenantId, after, batch);
            if (ended) return;
            for (const r of rows) {
              res.write(`id: ${r.id}\nevent: transition\ndata: ${JSON.stringify(toTransition(r))}\n\n`);
              after = r.id;
              lastWrite = Date.now();
            }
            if (rows.length < batch) break;
          }
          if (Date.now() - lastWrite >= heartbeatMs) {
            res.write(': keep-alive\n\n');
            lastWrite = Date.now();
          }
        } catch (err) {
          // The client reconnects with its Last-Event-ID once the ledger answers again.
          opts.onError?.(err);
          end();
          return;
        }
        if (!ended) timer = setTimeout(tick, pollIntervalMs);
      };
      await tick();
    },
  };
}
