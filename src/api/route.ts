/**
 * One table of routes drives both the Fastify server and /openapi.json, so every route the server
 * answers is documented with the same schemas it parses and the statuses it can send.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Scope } from '../domain/types.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface ResponseSpec {
  description: string;
  /** Omitted for bodiless answers. */
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: HttpMethod;
  /** OpenAPI path template, e.g. /api/v2/routing/callbacks/{callbackId}. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** The scope a key needs; null for routes open without a key. */
  scope: Scope | null;
  /** Whether each call takes a token from the key's intake bucket (429 when empty). */
  rateLimited?: boolean;
  body?: z.ZodType;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Success answers and the refusals particular to this route; the common ones are added from the flags. */
  responses: Record<number, ResponseSpec>;
  /** Whether the route reads the ledger (503 when it is down). */
  usesLedger: boolean;
  handler(req: FastifyRequest, reply: FastifyReply): Promise<unknown>;
}

export const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: each violation in errors[] with its code, field and what to send instead',
  401: 'No API key, or an unknown or revoked one',
  403: 'The key lacks the scope this operation needs',
  404: 'No such resource for this tenant',
  409: 'Conflict with the current state',
  413: 'Body larger than the limit',
  415: 'Body is not application/json',
  429: 'The key exceeded its intake rate; retry after Retry-After seconds',
  503: 'The ledger is unavailable; retry later',
};

/** Every status a route can answer with: its own plus those implied by auth, body and ledger use. */
export function allStatuses(route: RouteSpec): number[] {
  const statuses = new Set(Object.keys(route.responses).map(Number));
  if (route.scope) {
    statuses.add(401);
    statuses.add(403);
  }
  if (route.rateLimited) statuses.add(429);
  if (route.body || route.query) statuses.add(400);
  if (route.body) {
    statuses.add(413);
    statuses.add(415);
  }
  // Authentication reads the ledger too.
  if (route.usesLedger || route.scope) statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}

/** /api/v2/x/{id} → /api/v2/x/:id */
export function fastifyPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}
