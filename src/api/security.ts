/** Response headers every answer carries, and the masking of numbers for dashboard sessions. */
import { maskPhone } from '../domain/phone.js';

/** The dashboard loads only its own bundled files: no inline script, no CDN, no framing. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function maskOne(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  // Some answers (the dashboard search) come masked already.
  return typeof v.callbackNumber === 'string' && !v.callbackNumber.includes('*')
    ? { ...v, callbackNumber: maskPhone(v.callbackNumber) }
    : v;
}

/** A callback resource, or a page of them, with every callbackNumber masked to its last 4 digits. */
export function maskNumbers(payload: unknown): unknown {
  if (payload === null || typeof payload !== 'object') return payload;
  const p = payload as Record<string, unknown>;
  if (Array.isArray(p.items)) return { ...p, items: p.items.map(maskOne) };
  return maskOne(p);
}
