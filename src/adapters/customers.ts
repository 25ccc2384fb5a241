/**
 * The toll-fraud guard (DESIGN.md §5b): a callback number is only dialled when the customer's
 * trusted record holds it. Where that record lives is pluggable: the built-in demo customer, a
 * JSON file, or the CRM over HTTP. Validation checks the callback number against what it answers.
 */
import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { ERROR_CODES } from '../domain/errors.js';
import { normalisePhone } from '../domain/phone.js';

export interface TrustedNumberLookup {
  /**
   * The customer's trusted numbers (E.164), or `undefined` when the source has no such customer.
   * Throws TrustedLookupUnavailableError when the source cannot answer (timeout, 5xx, bad data).
   */
  trustedNumbers(tenantId: string, externalId: string): Promise<readonly string[] | undefined>;
}

/** Code for the API to answer 503 with: the lookup could not be made, retrying may work. */
export const TRUSTED_LOOKUP_UNAVAILABLE = ERROR_CODES.TRUSTED_LOOKUP_UNAVAILABLE;

export class TrustedLookupUnavailableError extends Error {
  readonly code = TRUSTED_LOOKUP_UNAVAILABLE;
  constructor(message: string) {
    super(message);
    this.name = 'TrustedLookupUnavailableError';
  }
}

/** The demo customer of DESIGN.md §6 (the guide's example), for every tenant. */
export const DEMO_TRUSTED_NUMBERS: Readonly<Record<string, readonly string[]>> = {
  'CRM-998271': ['+14155552671'],
};

/** A fixed map externalId → numbers (the built-in demo customer by default). */
export function staticTrustedNumbers(
  records: Readonly<Record<string, readonly string[]>> = DEMO_TRUSTED_NUMBERS,
): TrustedNumberLookup {
  const normalised = new Map(Object.entries(records).map(([id, nums]) => [id, nums.map(trustedForm)]));
  return { trustedNumbers: async (_tenantId, externalId) => normalised.get(externalId) };
}

/**
 * A file, read once at start-up. JSON or YAML (by extension): a list of records
 * `[{externalId, numbers: [...]}]` (also under `records:`), a map `{"<externalId>": ["+1..."]}`, or
 * per tenant `{tenants: {"<tenantId>": {...map...}}}`. CSV: a header row with `externalId` and
 * `numbers` (several separated by `;` or `|`) or `number` (one per row, rows may repeat the id).
 * Throws at creation when the file is unreadable or malformed, naming the file and the fix.
 */
export function fileTrustedNumbers(path: string): TrustedNumberLookup {
  const shapeError = (detail?: string) =>
    new Error(
      `trusted numbers file ${path} ${detail ?? 'has the wrong shape'}: it must map customer externalIds to arrays of E.164 numbers, ` +
        'e.g. {"CRM-998271": ["+14155552671"]} or [{"externalId": "CRM-998271", "numbers": ["+14155552671"]}] ' +
        '(CSV: header externalId,numbers)',
    );
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(
      `trusted numbers file ${path} cannot be read (${(err as Error).message}); check the path`,
    );
  }
  if (/\.csv$/i.test(path)) return lookupOf(csvRecords(text, shapeError));
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw shapeError(`cannot be parsed (${(err as Error).message})`);
  }
  if (isPlainObject(parsed) && 'tenants' in parsed) {
    const tenants = parsed.tenants;
    if (!isPlainObject(tenants)) throw shapeError();
    const byTenant = new Map(Object.entries(tenants).map(([t, m]) => [t, recordsOf(m, shapeError)]));
    return { trustedNumbers: async (tenantId, externalId) => byTenant.get(tenantId)?.get(externalId) };
  }
  return lookupOf(recordsOf(parsed, shapeError));
}

/** The trusted-number records a config holds (config `customers.records`), for every tenant. */
export function recordsTrustedNumbers(
  records: readonly { externalId: string; numbers: readonly string[] }[],
): TrustedNumberLookup {
  return lookupOf(recordsOf(records, () => new Error('customer records need externalId and numbers')));
}

function lookupOf(map: Map<string, string[]>): TrustedNumberLookup {
  return { trustedNumbers: async (_tenantId, externalId) => map.get(externalId) };
}

/** Accepts a record list, `{records: [...]}`, or an externalId → numbers map. */
function recordsOf(value: unknown, shapeError: () => Error): Map<string, string[]> {
  const map = new Map<string, string[]>();
  const add = (id: unknown, nums: unknown) => {
    if (typeof id !== 'string' || !Array.isArray(nums) || !nums.every((n) => typeof n === 'string')) {
      throw shapeError();
    }
    map.set(id, [...(map.get(id) ?? []), ...nums.map(trustedForm)]);
  };
  const list = isPlainObject(value) && Array.isArray(value.records) ? value.records : value;
  if (Array.isArray(list)) {
    for (const r of list) {
      if (!isPlainObject(r)) throw shapeError();
      add(r.externalId, r.numbers);
    }
    return map;
  }
  if (!isPlainObject(list)) throw shapeError();
  for (const [id, nums] of Object.entries(list)) add(id, nums);
  return map;
}

function csvRecords(text: string, shapeError: (detail?: string) => Error): Map<string, string[]> {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw shapeError(`cannot be parsed as CSV (${(err as Error).message})`);
  }
  const map = new Map<string, string[]>();
  for (const row of rows) {
    const id = row.externalId;
    const nums = row.numbers ?? row.number;
    if (!id || nums === undefined) throw shapeError('needs the CSV columns externalId and numbers');
    const list = nums
      .split(/[;|]/)
      .map((n) => n.trim())
      .filter((n) => n !== '');
    map.set(id, [...(map.get(id) ?? []), ...list.map(trustedForm)]);
  }
  return map;
}

export interface HttpTrustedNumbersOptions {
  /**
   * The CRM URL; `{externalId}` and `{tenantId}` are replaced (URL-encoded), e.g.
   * `https://crm.example.com/customers/{externalId}/phones`. The answer is JSON: an array of
   * numbers, or an object with `trustedNumbers`, `numbers` or `phoneNumbers`. 404 = no such customer.
   */
  urlTemplate: string;
  timeoutMs?: number;
  /** Extra request headers, e.g. an Authorization for the CRM. Never logged. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export function httpTrustedNumbers(options: HttpTrustedNumbersOptions): TrustedNumberLookup {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const doFetch = options.fetch ?? fetch;
  return {
    async trustedNumbers(tenantId, externalId) {
      const url = lookupUrl(options.urlTemplate, tenantId, externalId);
      let res: Response;
      try {
        res = await doFetch(url, {
          headers: { accept: 'application/json', ...options.headers },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const e = err as Error;
        throw new TrustedLookupUnavailableError(
          e.name === 'TimeoutError'
            ? `trusted number lookup timed out after ${timeoutMs} ms`
            : `trusted number lookup failed: ${e.message}`,
        );
      }
      if (res.status === 404) {
        await res.arrayBuffer().catch(() => undefined);
        return undefined;
      }
      if (!res.ok) {
        await res.arrayBuffer().catch(() => undefined);
        throw new TrustedLookupUnavailableError(`trusted number lookup answered HTTP ${res.status}`);
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw new TrustedLookupUnavailableError('trusted number lookup answered something other than JSON');
      }
      const list = Array.isArray(body)
        ? body
        : isPlainObject(body)
          ? (body.trustedNumbers ?? body.numbers ?? body.phoneNumbers)
          : undefined;
      if (!Array.isArray(list) || !list.every((n) => typeof n === 'string')) {
        throw new TrustedLookupUnavailableError(
          'trusted number lookup answered JSON without a list of numbers (expected an array or {trustedNumbers: [...]})',
        );
      }
      return list.map(trustedForm);
    },
  };
}

/** `{externalId}`/`{tenantId}` replaced; a URL without `{externalId}` gets `?externalId=…` appended. */
export function lookupUrl(template: string, tenantId: string, externalId: string): string {
  if (!template.includes('{externalId}')) {
    const url = new URL(template.replaceAll('{tenantId}', encodeURIComponent(tenantId)));
    url.searchParams.set('externalId', externalId);
    return url.toString();
  }
  return template
    .replaceAll('{externalId}', encodeURIComponent(externalId))
    .replaceAll('{tenantId}', encodeURIComponent(tenantId));
}

/** The shape of config `customers` (src/config), restated so the engine does not depend on config. */
export interface CustomersSource {
  source: 'builtin' | 'file' | 'http';
  file?: string | undefined;
  url?: string | undefined;
  records?: readonly { externalId: string; numbers: readonly string[] }[];
  /** For source http. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/** The lookup config `customers` describes: builtin records, a file, or the CRM over HTTP. */
export function trustedNumbersFromConfig(customers: CustomersSource): TrustedNumberLookup {
  switch (customers.source) {
    case 'file':
      if (!customers.file) throw new Error('customers.file is required when customers.source is "file"');
      return fileTrustedNumbers(customers.file);
    case 'http':
      if (!customers.url) throw new Error('customers.url is required when customers.source is "http"');
      return httpTrustedNumbers({
        urlTemplate: customers.url,
        ...(customers.timeoutMs === undefined ? {} : { timeoutMs: customers.timeoutMs }),
        ...(customers.headers === undefined ? {} : { headers: customers.headers }),
      });
    default:
      return customers.records && customers.records.length > 0
        ? recordsTrustedNumbers(customers.records)
        : staticTrustedNumbers();
  }
}

/**
 * What domain validation wants in `ValidationContext.trustedNumbers`: the customer's numbers, or
 * null when there is no customer record (or no externalId to find one by). Throws
 * TrustedLookupUnavailableError when the source cannot answer.
 */
export async function trustedNumbersFor(
  lookup: TrustedNumberLookup,
  tenantId: string,
  externalId: string | undefined,
): Promise<readonly string[] | null> {
  if (!externalId) return null;
  return (await lookup.trustedNumbers(tenantId, externalId)) ?? null;
}

/**
 * A record's number in E.164 form, for comparison with a validated callbackNumber. A number that
 * does not parse is kept as written: it can never equal a validated number, so it never matches.
 */
function trustedForm(number: string): string {
  return normalisePhone(number) ?? number.trim();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
