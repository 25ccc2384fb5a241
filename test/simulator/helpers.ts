import {
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  type Simulator,
  type SimulatorOptions,
  SUPPORT_QUEUE_ID,
  startSimulator,
} from '../../src/simulator/index.js';

export const START = '2024-06-15T15:00:00.000Z';
export const START_MS = Date.parse(START);
export const CUSTOMER = '+14155552671';
export const DID = '+18005551234';

export interface Harness {
  sim: Simulator;
  token: string;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Res>;
  raw(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<Res>;
  create(overrides?: Record<string, unknown>): Promise<string>;
  get(conversationId: string): Promise<Json>;
  customer(conversationId: string): Promise<Json>;
}

// biome-ignore lint/suspicious/noExplicitAny: answers are free-form JSON that tests probe field by field
export type Json = Record<string, any>;

export interface Res {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are free-form JSON that tests probe field by field
  body: any;
}

export const basic = (id = DEMO_CLIENT_ID, secret = DEMO_CLIENT_SECRET): string =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

export async function fetchToken(url: string): Promise<string> {
  const r = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (r.status !== 200) throw new Error(`token: ${r.status}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

export function createBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    routingData: { queueId: SUPPORT_QUEUE_ID, priority: 5 },
    callbackNumbers: [CUSTOMER],
    callbackUserName: 'Marcus Vance',
    callbackScheduledTime: '2024-06-15T16:00:00.000Z',
    callerId: DID,
    data: { callbackId: 'cb-CRM-998271-20240615T160000Z', timeoutSeconds: '300' },
    ...overrides,
  };
}

export async function startHarness(opts: SimulatorOptions = {}): Promise<Harness> {
  const sim = await startSimulator({ startTime: START, analyticsLagMs: 0, ...opts });
  const token = await fetchToken(sim.url);
  const raw = async (
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<Res> => {
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = body;
    const r = await fetch(`${sim.url}${path}`, init);
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: r.status, headers: r.headers, body: parsed };
  };
  const h: Harness = {
    sim,
    token,
    raw,
    api: (method, path, body, headers = {}) =>
      raw(method, path, body === undefined ? undefined : JSON.stringify(body), {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...headers,
      }),
    async create(overrides = {}) {
      const r = await h.api('POST', '/api/v2/conversations/callbacks', createBody(overrides));
      if (r.status !== 200) throw new Error(`create: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.conversation.id as string;
    },
    async get(id) {
      const r = await h.api('GET', `/api/v2/conversations/callbacks/${id}`);
      if (r.status !== 200) throw new Error(`get: ${r.status}`);
      return r.body;
    },
    async customer(id) {
      const conv = await h.get(id);
      return conv.participants.find((p: Json) => p.purpose === 'customer');
    },
  };
  return h;
}

/** Waits for a condition (never a fixed sleep). */
export async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
