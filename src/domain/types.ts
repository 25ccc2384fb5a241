/**
 * The shared vocabulary of callbackd. Every layer (ledger, genesys, engine, api, cli) speaks
 * in these types; the domain defines them and depends on nothing.
 */

/** Milliseconds since the Unix epoch. The clock is always passed in, never read globally. */
export type EpochMs = number;

export interface Clock {
  now(): EpochMs;
}

export const systemClock: Clock = { now: () => Date.now() };

export const CALLBACK_STATUSES = [
  'accepted',
  'pending',
  'completed',
  'expired',
  'rejected',
  'cancelled',
] as const;
export type CallbackStatus = (typeof CALLBACK_STATUSES)[number];

export const SCOPES = ['routing:callback:create', 'routing:callback:edit', 'routing:callback:view'] as const;
export type Scope = (typeof SCOPES)[number];

/** One problem with a request: a stable code, the field it concerns, and what to send instead. */
export interface Violation {
  code: string;
  field: string;
  message: string;
}

export interface Reason {
  code: string;
  message: string;
}

/**
 * A validated, normalised callback request: what the ledger stores and the platform receives.
 * Phone numbers are E.164, `scheduledTime` is canonical UTC (`YYYY-MM-DDTHH:mm:ss.sssZ`).
 */
export interface CallbackSpec {
  callbackId: string;
  callbackNumber: string;
  callbackFrom: string;
  callbackTo: string;
  scheduledTime: string;
  /** The customer's IANA zone when the request named one (scheduledLocalTime + timeZone). */
  timeZone?: string;
  /** Seconds to wait for answer and DTMF. */
  timeout: number;
  routingData: {
    queueId: string;
    priority: number;
    wrapUpCode?: string;
  };
  mediaType: 'voice';
  customerData: CustomerData;
  dtmf?: string;
}

export interface CustomerData {
  externalId?: string;
  firstName?: string;
  lastName?: string;
  [attribute: string]: string | undefined;
}

export interface HistoryEntry {
  status: CallbackStatus;
  at: string;
  reason: Reason | null;
}

/** The callback resource as the API returns it. */
export interface CallbackResource extends CallbackSpec {
  status: CallbackStatus;
  statusReason: Reason | null;
  conversationId: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
  history: HistoryEntry[];
}
