/**
 * The API's own JSON body parser: strict UTF-8, bounded nesting, and no prototype-pollution keys.
 * Each refusal is a 400 with its own code, never a 5xx.
 */
import { ERROR_CODES } from '../domain/errors.js';
import { ApiError } from './problem.js';

export const MAX_JSON_DEPTH = 32;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Deepest bracket nesting outside strings; stops counting once past the limit. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) max = depth;
      if (max > MAX_JSON_DEPTH) return max;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw ApiError.one(
      400,
      ERROR_CODES.INVALID_UTF8,
      '',
      'The body is not valid UTF-8; send UTF-8 encoded JSON.',
    );
  }
  if (text.trim() === '') {
    throw ApiError.one(400, 'INVALID_JSON', '', 'The body is empty; send a JSON object.');
  }
  if (nestingDepth(text) > MAX_JSON_DEPTH) {
    throw ApiError.one(
      400,
      ERROR_CODES.JSON_TOO_DEEP,
      '',
      `The JSON nests deeper than ${MAX_JSON_DEPTH} levels; send a flat callback object.`,
    );
  }
  try {
    return JSON.parse(text, (key, value) => {
      if (FORBIDDEN_KEYS.has(key)) {
        throw ApiError.one(
          400,
          ERROR_CODES.FORBIDDEN_KEY,
          key,
          `The key "${key}" is not allowed anywhere in a body; remove it.`,
        );
      }
      return value;
    });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // V8's message quotes part of the body, which may hold a phone number: keep it out.
    throw ApiError.one(400, 'INVALID_JSON', '', 'The body is not valid JSON; send a JSON object.');
  }
}
