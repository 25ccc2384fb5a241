/**
 * What every route module shares: the reply and request shapes, the endpoint names (counters and
 * fault rules key on them), the route builder and the platform's paging envelope.
 */
import type { IncomingMessage } from 'node:http';
import type { Scheduler } from '../clock.js';
import { invalidValue } from '../errors.js';
import type { Platform } from '../model.js';
import type { Notifications } from '../notifications.js';
import type { SimOrgDef } from '../org.js';
import type { ViewContext } from '../views.js';

export type Json = Record<string, unknown>;

/** Stable names of the platform endpoints, used by counters and fault rules. */
export const ENDPOINTS = [
  'token',
  'createCallback',
  'getCallback',
  'getConversation',
  'listCallbacks',
  'rescheduleCallback',
  'disconnectCallback',
  'bulkDisconnect',
  'listQueues',
  'getQueue',
  'getWrapupCodes',
  'listDids',
  'queueObservations',
  'conversationDetails',
  'conversationDetailsById',
  'indexProperties',
  'attributesSearch',
  'createChannel',
  'listChannels',
  'headChannel',
  'getSubscriptions',
  'subscribe',
  'replaceSubscriptions',
  'deleteSubscriptions',
  'unknown',
] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RequestCtx {
  req: IncomingMessage;
  params: string[];
  query: URLSearchParams;
  rawBody: Buffer;
  json: () => unknown;
  clientId: string;
}

export interface Route {
  method: string;
  pattern: RegExp;
  endpoint: EndpointName;
  auth: boolean;
  handler: (ctx: RequestCtx) => Reply;
}

export interface SimSettings {
  analyticsLagMs: number;
  requestsPerMinute: number;
  tokenLifetimeSeconds: number;
  /** How long a new conversation takes to show in the participant-attributes search. */
  searchLagMs: number;
  /** false: the attributes search answers 403 (the app lacks conversation:participant:attributesview). */
  searchAllowed: boolean;
  /** false: answers carry no inin-ratelimit-* headers (breaks callbackd's header pacing on purpose). */
  rateLimitHeaders: boolean;
  /** Per-resource limits per minute, shared by every token of the org (endpoint name → allowed). */
  resourceLimits: Partial<Record<EndpointName, number>>;
}

export const DEFAULT_SETTINGS: SimSettings = {
  analyticsLagMs: 5000,
  requestsPerMinute: 300,
  tokenLifetimeSeconds: 86_400,
  searchLagMs: 5000,
  searchAllowed: true,
  rateLimitHeaders: true,
  resourceLimits: {},
};

/** What route modules read and act on. */
export interface SimContext {
  org: SimOrgDef;
  platform: Platform;
  scheduler: Scheduler;
  settings: SimSettings;
  notifications: Notifications;
  views: ViewContext;
}

export const ID = '([^/]+)';
export const ok = (body: unknown, status = 200): Reply => ({ status, body });

export const route = (
  method: string,
  path: string,
  endpoint: EndpointName,
  handler: (ctx: RequestCtx) => Reply,
  auth = true,
): Route => ({ method, pattern: new RegExp(`^${path}$`), endpoint, handler, auth });

function paging(query: URLSearchParams, maxPageSize = 500): { pageSize: number; pageNumber: number } {
  const read = (name: string, dflt: number, min: number, max: number): number => {
    const raw = query.get(name);
    if (raw === null) return dflt;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      throw invalidValue(name, `${name} must be an integer from ${min} to ${max}.`);
    }
    return n;
  };
  return { pageSize: read('pageSize', 25, 1, maxPageSize), pageNumber: read('pageNumber', 1, 1, 1_000_000) };
}

export function paged<T>(all: T[], path: string, query: URLSearchParams): Json {
  const { pageSize, pageNumber } = paging(query);
  const pageCount = Math.max(1, Math.ceil(all.length / pageSize));
  const uri = (n: number): string => `${path}?pageSize=${pageSize}&pageNumber=${n}`;
  const out: Json = {
    entities: all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
    pageSize,
    pageNumber,
    total: all.length,
    firstUri: uri(1),
    lastUri: uri(pageCount),
    selfUri: uri(pageNumber),
    pageCount,
  };
  if (pageNumber < pageCount) out['nextUri'] = uri(pageNumber + 1);
  if (pageNumber > 1) out['previousUri'] = uri(pageNumber - 1);
  return out;
}
