/**
 * CRM sync: delivers webhook outbox rows to the configured URL, signed, with the outbox id as
 * the event id receivers deduplicate on. A row is retried with exponential backoff until the
 * receiver answers 2xx; after `maxAttempts` it is marked dead (Store.listDead) rather than dropped.
 *
 * Delivery is at least once: a crash between the POST and markDelivered re-sends the same event
 * id, which is why receivers deduplicate on `Callbackd-Event-Id`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { crmStatusFor } from '../domain/lifecycle.js';
import type { CallbackStatus, Clock } from '../domain/types.js';
import { createOutboxDeliverer, type OutboxDeliverer, type OutboxTransport } from '../jobs/outbox.js';
import type { OutboxRow, Store } from '../ledger/port.js';

export const SIGNATURE_HEADER = 'Callbackd-Signature';
export const EVENT_ID_HEADER = 'Callbackd-Event-Id';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` */
export function signatureHeader(rawBody: string | Buffer, secret: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${hmacHex(secret, t, rawBody)}`;
}

function hmacHex(secret: string, t: number, rawBody: string | Buffer): string {
  return createHmac('sha256', secret)
    .update(`${t}.`)
    .update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody)
    .digest('hex');
}

/**
 * Checks a `Callbackd-Signature` header against the raw request body (the exact bytes received,
 * before any JSON parsing). False when the header is missing or malformed, when no `v1` matches,
 * or when `t` is more than `toleranceSeconds` away from `nowMs` (refuses replayed deliveries).
 * Several `v1=` entries are accepted so a receiver can roll its secret.
 */
export function verifySignature(
  rawBody: string | Buffer,
  header: string | undefined | null,
  secret: string,
  toleranceSeconds: number,
  nowMs: number,
): boolean {
  if (!header) return false;
  let t: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) candidates.push(value.toLowerCase());
  }
  if (t === null || candidates.length === 0) return false;
  if (Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, t, rawBody), 'hex');
  return candidates.some((c) => timingSafeEqual(Buffer.from(c, 'hex'), expected));
}

export interface WebhookDeliveryOptions {
  url: string;
  secret: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Rows leased per pass. */
  batchSize?: number;
  /** How long a leased row stays invisible to other workers. Longer than timeoutMs. */
  leaseMs?: number;
  /** Delivery attempts before the row is marked dead. */
  maxAttempts?: number;
  /** Backoff after the first failure; doubles per attempt, with jitter, up to backoffMaxMs. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** CRM status per callbackd status; missing entries fall back to DEFAULT_CRM_STATUS. */
  crmStatusMap?: Partial<Record<CallbackStatus, string>> | null;
  /** Callbacks whose rows are delivered at once; rows of one callback go one after another, oldest first. */
  concurrency?: number;
  random?: () => number;
  fetch?: typeof fetch;
}

export const WEBHOOK_DEFAULTS = {
  timeoutMs: 10_000,
  batchSize: 50,
  leaseMs: 60_000,
  maxAttempts: 12,
  backoffBaseMs: 5_000,
  backoffMaxMs: 3_600_000,
  concurrency: 4,
} as const;

/** The JSON body a CRM receives. */
export interface WebhookBody {
  eventId: string;
  eventType: string;
  crmStatus: string | null;
  createdAt: string;
  data: unknown;
}

export function webhookBody(
  row: OutboxRow,
  crmStatusMap?: Partial<Record<CallbackStatus, string>> | null,
): string {
  const status = (row.payload as { status?: CallbackStatus } | null)?.status;
  const body: WebhookBody = {
    eventId: row.id,
    eventType: row.eventType,
    crmStatus: status ? crmStatusFor(status, crmStatusMap) : null,
    createdAt: new Date(row.createdAt).toISOString(),
    data: row.payload,
  };
  return JSON.stringify(body);
}

export type WebhookDelivery = OutboxDeliverer;

/** The CRM webhook transport: one signed POST per row, rows of one callback in order. */
export function webhookTransport(clock: Clock, options: WebhookDeliveryOptions): OutboxTransport {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs;
  const concurrency = options.concurrency ?? WEBHOOK_DEFAULTS.concurrency;
  const doFetch = options.fetch ?? fetch;

  async function post(row: OutboxRow): Promise<string | null> {
    const body = webhookBody(row, options.crmStatusMap);
    try {
      const res = await doFetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signatureHeader(body, options.secret, clock.now()),
          [EVENT_ID_HEADER]: row.id,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      // Drain the body so the connection can be reused; its content does not matter.
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`;
    } catch (err) {
      return describeFetchError(err);
    }
  }

  return {
    channel: 'webhook',
    async send(rows, record) {
      // Rows of one callback go one after another, oldest first, so a pass never reorders them.
      // Across passes a failed row is retried later while newer ones may succeed: receivers order
      // by data.occurredAt (and deduplicate by eventId).
      const byCallback = new Map<number, OutboxRow[]>();
      for (const row of rows) {
        const list = byCallback.get(row.callbackPk);
        if (list) list.push(row);
        else byCallback.set(row.callbackPk, [row]);
      }
      const groups = [...byCallback.values()];
      let next = 0;
      const worker = async () => {
        while (next < groups.length) {
          for (const row of groups[next++]!) await record(row, await post(row));
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker));
    },
  };
}

export function createWebhookDelivery(
  store: Store,
  clock: Clock,
  options: WebhookDeliveryOptions,
): WebhookDelivery {
  const o = { ...WEBHOOK_DEFAULTS, ...stripUndefined(options) };
  return createOutboxDeliverer(store, clock, webhookTransport(clock, options), {
    batchSize: o.batchSize,
    leaseMs: o.leaseMs,
    maxAttempts: o.maxAttempts,
    backoffBaseMs: o.backoffBaseMs,
    backoffMaxMs: o.backoffMaxMs,
    ...(options.random ? { random: options.random } : {}),
  });
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timeout';
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ? `${err.message} (${cause.code})` : err.message;
  }
  return String(err);
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
