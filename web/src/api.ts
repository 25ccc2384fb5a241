/** The dashboard's calls to its own server: same origin, the session cookie, problem documents as errors. */

export interface Violation {
  code: string;
  field: string;
  message: string;
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly errors: Violation[],
    detail: string,
  ) {
    super(detail);
  }
  /** Every violation's message, the way the API worded it. */
  get messages(): string[] {
    return this.errors.length > 0 ? this.errors.map((e) => e.message) : [this.message];
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    throw new ApiProblem(res.status, json?.errors ?? [], json?.detail ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

export const query = (params: Record<string, string | number | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

export type Status = 'accepted' | 'pending' | 'completed' | 'expired' | 'rejected' | 'cancelled';
export const STATUSES: Status[] = ['accepted', 'pending', 'completed', 'expired', 'rejected', 'cancelled'];

export interface Session {
  tenantId: string;
  scopes: string[];
  keyName: string;
  expiresAt: string;
}

export interface Figures {
  counts: Record<string, number>;
  due: number;
  kept: number;
  keptShare: number | null;
  expiredByReason: Record<string, number>;
  rejectedByReason: Record<string, number>;
  completions: number;
  attemptsPerCompletion: number | null;
}

export interface QueueStats {
  queueId: string;
  name: string;
  timeZone: string;
  withinMinutes: number;
  totals: Figures;
  buckets: (Figures & { start: string })[];
}

export interface Overview {
  now: string;
  queues: {
    id: string;
    name: string;
    timeZone: string;
    open: Record<string, number>;
    todayFrom: string;
    todayTo: string;
    today: Record<string, number>;
    slots: { start: string; booked: number; capacity: number | null }[];
    maxCallbacks: number;
  }[];
  platform: {
    requestsPerMinute: number;
    callsLastMinute: number;
    callsLastHour: number;
    throttledLastMinute: number;
    throttledLastHour: number;
  };
  submitBacklog: { waiting: number; due: number };
  deadLetters: number;
}

export interface Row {
  callbackId: string;
  queueId: string;
  queueName: string;
  status: Status;
  reasonCode: string | null;
  callbackNumber: string;
  externalId: string | null;
  customerName: string | null;
  conversationId: string | null;
  attempts: number;
  scheduledTime: string;
  updatedAt: string;
}

export interface Callback {
  callbackId: string;
  callbackNumber: string;
  scheduledTime: string;
  routingData: { queueId: string; priority: number };
  customerData: Record<string, string>;
  status: Status;
  statusReason: { code: string; message: string } | null;
  conversationId: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
  history: { status: Status; at: string; reason: { code: string; message: string } | null }[];
}

export interface Transition {
  id: number;
  callbackId: string;
  queueId: string;
  status: Status;
  reason: { code: string; message: string } | null;
  at: string;
}

export interface DeadLetter {
  eventId: string;
  channel: string;
  eventType: string;
  callbackId: string;
  attempts: number;
  deadAt: string;
  lastError: string | null;
}
