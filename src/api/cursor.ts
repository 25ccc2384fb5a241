/**
 * Opaque list cursors: base64url JSON holding the last row's pk and a digest of the filter it was
 * made for, so a cursor reused with other filters is refused instead of silently skipping rows.
 */

import { createHash } from 'node:crypto';
import { ERROR_CODES } from '../domain/errors.js';
import { ApiError } from './problem.js';

function filterDigest(filter: unknown): string {
  return createHash('sha256').update(JSON.stringify(filter)).digest('base64url').slice(0, 12);
}

export function encodeCursor(afterPk: number, filter: unknown): string {
  return Buffer.from(JSON.stringify({ v: 1, a: afterPk, f: filterDigest(filter) }), 'utf8').toString(
    'base64url',
  );
}

export function decodeCursor(cursor: string, filter: unknown): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const c = parsed as { v?: unknown; a?: unknown; f?: unknown } | undefined;
  if (c?.v !== 1 || !Number.isSafeInteger(c.a) || typeof c.f !== 'string') {
    throw ApiError.one(
      400,
      ERROR_CODES.INVALID_CURSOR,
      'cursor',
      'The cursor is not one this API issued; pass nextCursor from the previous page unchanged.',
    );
  }
  if (c.f !== filterDigest(filter)) {
    throw ApiError.one(
      400,
      ERROR_CODES.INVALID_CURSOR,
      'cursor',
      'The cursor was issued for other filters; repeat the same status, queueId, from and to with it.',
    );
  }
  return c.a as number;
}
