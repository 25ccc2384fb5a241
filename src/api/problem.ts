/**
 * RFC 9457 problem details. Every refusal the API makes is one of these, with `errors` listing each
 * violation's stable code, the field it concerns, and what to send instead.
 */
import type { Violation } from '../domain/types.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors: Violation[];
  /** Extension members of a particular refusal (e.g. SLOT_FULL's `alternatives`). */
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error the API answers with as a problem document; handlers throw it, the error handler renders it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: Violation[],
    readonly detail: string = errors[0]?.message ?? TITLES[status] ?? 'Error',
    readonly headers: Record<string, string> = {},
    /** RFC 9457 extension members rendered beside `errors`. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }

  static one(status: number, code: string, field: string, message: string, headers?: Record<string, string>) {
    return new ApiError(status, [{ code, field, message }], message, headers);
  }
}

export function problemOf(
  status: number,
  errors: Violation[],
  detail: string,
  instance?: string,
  extensions: Record<string, unknown> = {},
): Problem {
  const first = errors[0]?.code ?? 'error';
  return {
    ...extensions,
    // A stable, dereferenceable-looking URN per primary code: clients branch on `errors[].code`.
    type: `urn:callbackd:problem:${first}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(instance === undefined ? {} : { instance }),
    errors,
  };
}
