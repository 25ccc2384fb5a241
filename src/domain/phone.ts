/**
 * Phone numbers: E.164 parsing and normalisation with libphonenumber-js. The "max" metadata is
 * used because only it tells number types apart (premium-rate, shared-cost, voicemail…).
 */
import { type CountryCode, type NumberType, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { ERROR_CODES, type ErrorCode } from './errors.js';

export interface ParsedPhone {
  /** E.164, e.g. +14155552671. */
  e164: string;
  /** ISO 3166 region when the number belongs to exactly one (undefined for e.g. +800). */
  country?: CountryCode;
  type?: NumberType;
}

export interface PhoneError {
  code: ErrorCode;
  message: string;
}

export type PhoneResult = ({ ok: true } & ParsedPhone) | ({ ok: false } & PhoneError);

export type PhonePurpose =
  /** A number we will dial: must be a real, dialable, non-premium, non-shared-cost number. */
  | 'customer'
  /** One of our own DIDs: only the E.164 form matters, provisioning is checked against the policy. */
  | 'did';

const EXAMPLE = '+14155552671';
// Formatting people type around digits; anything else (letters, extensions) is refused.
const ALLOWED_CHARS = /^\+[0-9 ().\-/]+$/;

/** Parse and normalise a number written in international form (leading +). */
export function parsePhone(
  input: string,
  field = 'callbackNumber',
  purpose: PhonePurpose = 'customer',
): PhoneResult {
  const trimmed = input.trim();
  if (!trimmed.startsWith('+')) {
    return bad(
      ERROR_CODES.INVALID_PHONE_NUMBER,
      `${field} must be in E.164 form with a leading + and country code; send e.g. ${EXAMPLE}`,
    );
  }
  if (!ALLOWED_CHARS.test(trimmed)) {
    return bad(
      ERROR_CODES.INVALID_PHONE_NUMBER,
      `${field} may hold only + and digits (spaces, dashes and brackets are ignored; extensions cannot be dialled); send e.g. ${EXAMPLE}`,
    );
  }
  const parsed = parsePhoneNumberFromString(trimmed);
  if (!parsed?.isPossible()) {
    return bad(
      ERROR_CODES.INVALID_PHONE_NUMBER,
      `${field} ${maskPhone(trimmed)} is not a possible phone number (wrong length for its country code); send an E.164 number such as ${EXAMPLE}`,
    );
  }
  const e164 = parsed.number;
  const masked = maskPhone(e164);
  if (!parsed.isValid()) {
    return bad(
      ERROR_CODES.PHONE_NOT_DIALABLE,
      `${field} ${masked} is not an assigned number range in its country, so it cannot be dialled; send a number the customer can answer`,
    );
  }
  const type = parsed.getType();
  if (purpose === 'customer') {
    if (type === 'PREMIUM_RATE') {
      return bad(
        ERROR_CODES.PREMIUM_RATE_NUMBER,
        `${field} ${masked} is a premium-rate number, which is never dialled (toll-fraud guard); send the customer's landline or mobile number`,
      );
    }
    if (type === 'SHARED_COST') {
      return bad(
        ERROR_CODES.SHARED_COST_NUMBER,
        `${field} ${masked} is a shared-cost number, which is never dialled; send the customer's landline or mobile number`,
      );
    }
    if (type === 'VOICEMAIL' || type === 'PAGER') {
      return bad(
        ERROR_CODES.PHONE_NOT_DIALABLE,
        `${field} ${masked} is a ${type === 'VOICEMAIL' ? 'voicemail access' : 'pager'} number, which cannot take a callback; send the customer's landline or mobile number`,
      );
    }
  }
  const result: PhoneResult = { ok: true, e164 };
  if (parsed.country) result.country = parsed.country;
  if (type) result.type = type;
  return result;
}

function bad(code: ErrorCode, message: string): PhoneResult {
  return { ok: false, code, message };
}

/** E.164 form of a number, or undefined when it does not parse (no type checks). */
export function normalisePhone(input: string): string | undefined {
  const r = parsePhone(input, 'number', 'did');
  return r.ok ? r.e164 : undefined;
}

/**
 * Mask a number for logs and error messages: every digit but the last 4 becomes `*`, so
 * `+14155552671` → `+*******2671`. Formatting characters are dropped; numbers with 4 digits or
 * fewer are masked entirely.
 */
export function maskPhone(input: string): string {
  const plus = input.trim().startsWith('+') ? '+' : '';
  const digits = input.replace(/\D/g, '');
  if (digits.length <= 4) return plus + '*'.repeat(digits.length);
  return plus + '*'.repeat(digits.length - 4) + digits.slice(-4);
}

/**
 * Countries whose numbers all live in one IANA zone. Deliberately small and conservative:
 * countries spanning several zones (US, CA, MX, BR, RU, AU, ID, KZ, CL, ES with the Canaries,
 * PT with the Azores, NZ with the Chathams…) are absent, so their numbers fall back to the
 * request's timeZone or the queue's zone rather than to a guess. libphonenumber's per-number
 * geocoding is not used; area-code-level zones would need data this project does not ship.
 */
export const SINGLE_ZONE_COUNTRIES: Readonly<Partial<Record<CountryCode, string>>> = {
  AE: 'Asia/Dubai',
  AT: 'Europe/Vienna',
  BE: 'Europe/Brussels',
  BG: 'Europe/Sofia',
  CH: 'Europe/Zurich',
  CN: 'Asia/Shanghai',
  CZ: 'Europe/Prague',
  DE: 'Europe/Berlin',
  DK: 'Europe/Copenhagen',
  EG: 'Africa/Cairo',
  FI: 'Europe/Helsinki',
  FR: 'Europe/Paris',
  GB: 'Europe/London',
  GR: 'Europe/Athens',
  HK: 'Asia/Hong_Kong',
  HU: 'Europe/Budapest',
  IE: 'Europe/Dublin',
  IL: 'Asia/Jerusalem',
  IN: 'Asia/Kolkata',
  IS: 'Atlantic/Reykjavik',
  IT: 'Europe/Rome',
  JP: 'Asia/Tokyo',
  KE: 'Africa/Nairobi',
  KR: 'Asia/Seoul',
  LU: 'Europe/Luxembourg',
  NG: 'Africa/Lagos',
  NL: 'Europe/Amsterdam',
  NO: 'Europe/Oslo',
  NP: 'Asia/Kathmandu',
  PH: 'Asia/Manila',
  PK: 'Asia/Karachi',
  PL: 'Europe/Warsaw',
  RO: 'Europe/Bucharest',
  SA: 'Asia/Riyadh',
  SE: 'Europe/Stockholm',
  SG: 'Asia/Singapore',
  SK: 'Europe/Bratislava',
  TH: 'Asia/Bangkok',
  TR: 'Europe/Istanbul',
  TW: 'Asia/Taipei',
  ZA: 'Africa/Johannesburg',
};

/** The IANA zone of a number when its country has exactly one (see SINGLE_ZONE_COUNTRIES). */
export function zoneForNumber(e164: string): string | undefined {
  const parsed = parsePhoneNumberFromString(e164);
  const country = parsed?.country;
  return country ? SINGLE_ZONE_COUNTRIES[country] : undefined;
}
