import { randomUUID } from 'node:crypto';

/** A refusal in the platform's own shape: ErrorBody {message, code, status, messageParams, contextId}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly messageParams: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(contextId: string = randomUUID()): Record<string, unknown> {
    return {
      message: this.message,
      code: this.code,
      status: this.status,
      messageParams: this.messageParams,
      contextId,
      details: [],
      errors: [],
    };
  }
}

export const badRequest = (message: string, params: Record<string, string> = {}): ApiError =>
  new ApiError(400, 'bad.request', message, params);

export const invalidValue = (field: string, message: string): ApiError =>
  new ApiError(400, 'invalid.value', message, { field });

export const invalidDate = (field: string, message: string): ApiError =>
  new ApiError(400, 'invalid.date', message, { field });

export const notFound = (message = 'The requested resource was not found.'): ApiError =>
  new ApiError(404, 'not.found', message);
