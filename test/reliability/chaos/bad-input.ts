/**
 * Bad input: thousands of generated malformed or hostile requests against a running
 * `callbackd serve` (built dist, SQLite file): wrong types, huge strings, deep nesting, invalid
 * UTF-8, prototype-pollution keys, broken HTTP and headers (raw sockets), wrong content types,
 * oversize bodies, bad auth, hostile paths and queries, random JSON from fast-check. Wants: no
 * 5xx, no crash, every well-formed request answered, and a valid request still answered as fast
 * afterwards (p50 of a probe before and after, and the ratio).
 *
 *   npx tsx test/reliability/chaos/bad-input.ts [--count 10000] [--seed 7]
 */
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { SUPPORT_QUEUE_ID } from '../../../src/simulator/index.js';
import { CALLBACKS_PATH } from './lib/client.js';
import { Cluster, SCOPES, SUPPORT_DID, TENANT } from './lib/cluster.js';
import { describeViolations, type Violation } from './lib/ledger-check.js';
import { percentile, pick, randomInt, round, seededRandom, tally, writeResults } from './lib/util.js';

export interface BadInputOptions {
  count: number;
  seed: number;
  concurrency: number;
  /** Valid requests timed before and after (sequentially); the p50s are compared. */
  probes: number;
  /** The probe's p50 after may be at most this many times the p50 before. */
  maxSlowdown: number;
  /** Raw-socket cases that send an incomplete request wait this long for an answer. */
  rawTimeoutMs: number;
  resultsName?: string;
  keepDir?: boolean;
  log?: (line: string) => void;
}

export const BAD_INPUT_FULL: BadInputOptions = {
  count: 10_000,
  seed: 4_242,
  concurrency: 16,
  probes: 60,
  maxSlowdown: 3,
  rawTimeoutMs: 2_000,
  resultsName: 'bad-input',
};

export const BAD_INPUT_SHORT: BadInputOptions = {
  ...BAD_INPUT_FULL,
  count: 1_000,
  probes: 20,
  resultsName: undefined,
};

/** One generated request: sent with undici, or as raw bytes on a socket when it is not valid HTTP. */
interface Case {
  category: string;
  what: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  raw?: Buffer;
  /** An incomplete request the server may rightly wait on (or drop) instead of answering. */
  mayGoUnanswered?: boolean;
}

interface Outcome {
  status: number | 'no-answer' | 'closed';
  problemJson: boolean;
  ms: number;
}

interface Keys {
  all: string;
  viewOnly: string;
  otherTenant: string;
  revoked: string;
}

interface Ctx {
  random: () => number;
  keys: Keys;
  /** A callback that exists (tenant t1), for GET/PATCH/DELETE. */
  existingId: string;
  customer: { externalId: string; number: string };
  /** Pools of fast-check values, drawn with the seeded PRNG. */
  anyValues: unknown[];
  jsonTexts: string[];
  strings: string[];
}

const FIELDS = [
  'callbackId',
  'callbackNumber',
  'callbackFrom',
  'callbackTo',
  'scheduledTime',
  'scheduledLocalTime',
  'timeZone',
  'dstPolicy',
  'timeout',
  'routingData',
  'routingData.queueId',
  'routingData.priority',
  'routingData.wrapUpCode',
  'mediaType',
  'customerData',
  'customerData.externalId',
  'customerData.firstName',
  'customerData.extra',
  'dtmf',
];

const NASTY_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0,
  1e308,
  -1e308,
  2 ** 53 + 1,
  '',
  ' ',
  '\u0000',
  '\u202e+14155552671',
  '\ufeff',
  '😀'.repeat(10),
  'null',
  'undefined',
  '{}',
  '[]',
  "' OR 1=1 --",
  '"; DROP TABLE callbacks; --',
  '<script>alert(1)</script>',
  // A log4shell probe (a literal string; biome-ignore because the placeholder is the point).
  // biome-ignore lint/suspicious/noTemplateCurlyInString: hostile input on purpose
  '${jndi:ldap://127.0.0.1/a}',
  '%s%s%s%n',
  '../../../../etc/passwd',
  'NaN',
  'Infinity',
  '9999-99-99T99:99:99Z',
  '+275760-09-13T00:00:00.001Z',
  '2024-02-30T25:61:61Z',
  '2024-06-15T23:59:60Z',
  'Mars/Olympus_Mons',
  'tel:+14155552671',
  `+1${'9'.repeat(100)}`,
  [],
  [null],
  [[[]]],
  {},
  { '': '' },
  { a: { b: { c: {} } } },
];

function validBody(ctx: Ctx, id: string): Record<string, unknown> {
  return {
    callbackId: id,
    callbackNumber: ctx.customer.number,
    callbackFrom: SUPPORT_DID,
    callbackTo: SUPPORT_DID,
    scheduledTime: new Date(Date.now() + 3_600_000).toISOString(),
    routingData: { queueId: SUPPORT_QUEUE_ID, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
    mediaType: 'voice',
    customerData: { externalId: ctx.customer.externalId, firstName: 'Bad', lastName: 'Input' },
  };
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let target: Record<string, unknown> = obj;
  for (const p of parts.slice(0, -1)) {
    const next = target[p];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) target[p] = {};
    target = target[p] as Record<string, unknown>;
  }
  target[parts[parts.length - 1]!] = value;
}

const json = { 'content-type': 'application/json' };
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

function post(ctx: Ctx, category: string, what: string, body: string | Buffer, headers = {}): Case {
  return {
    category,
    what,
    method: 'POST',
    path: CALLBACKS_PATH,
    headers: { ...auth(ctx.keys.all), ...json, ...headers },
    body,
  };
}

function patch(ctx: Ctx, category: string, what: string, body: string | Buffer, headers = {}): Case {
  return {
    category,
    what,
    method: 'PATCH',
    path: `${CALLBACKS_PATH}/${ctx.existingId}`,
    headers: { ...auth(ctx.keys.all), ...json, ...headers },
    body,
  };
}

function rawRequest(lines: string[], body = ''): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

type Generator = (ctx: Ctx, i: number) => Case;

const GENERATORS: Record<string, { weight: number; make: Generator }> = {
  'wrong-types': {
    weight: 14,
    make: (ctx, i) => {
      const body = validBody(ctx, `bad-${i}`);
      const field = pick(ctx.random, FIELDS);
      const value = ctx.random() < 0.5 ? pick(ctx.random, NASTY_VALUES) : pick(ctx.random, ctx.anyValues);
      setPath(body, field, value);
      const send = ctx.random() < 0.8 ? post : patch;
      return send(
        ctx,
        'wrong-types',
        `${field} = ${JSON.stringify(value)?.slice(0, 40)}`,
        JSON.stringify(body),
      );
    },
  },
  'huge-strings': {
    weight: 8,
    make: (ctx, i) => {
      const body = validBody(ctx, `bad-${i}`);
      const field = pick(ctx.random, FIELDS);
      const unit = pick(ctx.random, ['a', '9', '😀', '\u0000', '\\', '"', 'é', '\u200b', ' ']);
      const length = pick(ctx.random, [1_000, 10_000, 30_000, 60_000, 70_000, 200_000]);
      setPath(body, field, unit.repeat(Math.ceil(length / unit.length)));
      return post(ctx, 'huge-strings', `${field}: ${length} × ${JSON.stringify(unit)}`, JSON.stringify(body));
    },
  },
  'deep-nesting': {
    weight: 7,
    make: (ctx, i) => {
      const depth = pick(ctx.random, [16, 31, 32, 33, 64, 500, 5_000, 40_000]);
      const shape = randomInt(ctx.random, 0, 3);
      let text: string;
      if (shape === 0) text = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      else if (shape === 1) text = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      else if (shape === 2) {
        const body = validBody(ctx, `bad-${i}`);
        const s = JSON.stringify(body);
        text = `${s.slice(0, -1)},"customerData2":${'{"x":'.repeat(depth)}0${'}'.repeat(depth)}}`;
      } else text = '['.repeat(depth); // unbalanced
      const send = ctx.random() < 0.7 ? post : patch;
      return send(ctx, 'deep-nesting', `depth ${depth}, shape ${shape}`, text);
    },
  },
  'invalid-utf8': {
    weight: 7,
    make: (ctx, i) => {
      const good = Buffer.from(JSON.stringify(validBody(ctx, `bad-${i}`)), 'utf8');
      const bad = pick(ctx.random, [
        Buffer.from([0xff]),
        Buffer.from([0xc0, 0x80]),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from([0xf4, 0x90, 0x80, 0x80]),
        Buffer.from([0xe2, 0x82]),
        Buffer.from([0x80]),
        Buffer.from([0xfe, 0xff]),
      ]);
      const mode = randomInt(ctx.random, 0, 3);
      let body: Buffer;
      if (mode === 0) {
        // Inside a string value (firstName).
        const at = good.indexOf('Bad');
        body = Buffer.concat([good.subarray(0, at), bad, good.subarray(at)]);
      } else if (mode === 1) body = Buffer.concat([good, bad]);
      else if (mode === 2) body = Buffer.concat([bad, good]);
      else body = Buffer.from(`\ufeff${good.toString('utf8')}`, 'utf16le');
      const send = ctx.random() < 0.8 ? post : patch;
      return send(ctx, 'invalid-utf8', `mode ${mode}, bytes ${bad.toString('hex')}`, body);
    },
  },
  'proto-keys': {
    weight: 8,
    make: (ctx, i) => {
      const key = pick(ctx.random, ['__proto__', 'constructor', 'prototype']);
      const where = randomInt(ctx.random, 0, 4);
      const base = JSON.stringify(validBody(ctx, `bad-${i}`));
      if (where === 4) {
        // In the query string and the path, not the body.
        const path = pick(ctx.random, [
          `${CALLBACKS_PATH}?${key}[status]=pending`,
          `${CALLBACKS_PATH}?${key}.polluted=1&status=pending`,
          `${CALLBACKS_PATH}/${key}`,
          `${CALLBACKS_PATH}?status[${key}]=1`,
        ]);
        return {
          category: 'proto-keys',
          what: path,
          method: pick(ctx.random, ['GET', 'DELETE']),
          path,
          headers: auth(ctx.keys.all),
        };
      }
      const payload =
        key === 'constructor' ? '{"prototype":{"polluted":"yes"}}' : '{"polluted":"yes","isAdmin":true}';
      const text =
        where === 0
          ? `{"${key}":${payload},${base.slice(1)}`
          : where === 1
            ? base.replace('"customerData":{', `"customerData":{"${key}":${payload},`)
            : where === 2
              ? base.replace('"routingData":{', `"routingData":{"${key}":${payload},`)
              : base.replace('"customerData":{', '"customerData":{"toString":"x","hasOwnProperty":"y",');
      const send = ctx.random() < 0.8 ? post : patch;
      return send(ctx, 'proto-keys', `${key} at ${where}`, text);
    },
  },
  'bad-http': {
    weight: 8,
    make: (ctx, i) => {
      const body = JSON.stringify(validBody(ctx, `bad-${i}`));
      const host = 'Host: 127.0.0.1';
      const a = `Authorization: Bearer ${ctx.keys.all}`;
      const variants: [string, Buffer, boolean?][] = [
        ['garbage request line', Buffer.from('HELLO\r\n\r\n')],
        ['HTTP/9.9', rawRequest([`POST ${CALLBACKS_PATH} HTTP/9.9`, host, a])],
        ['no version', rawRequest([`GET ${CALLBACKS_PATH}`, host])],
        [
          'space in header name',
          rawRequest([`POST ${CALLBACKS_PATH} HTTP/1.1`, host, a, 'Content Type: application/json'], body),
        ],
        ['NUL in header value', rawRequest([`GET /healthz HTTP/1.1`, host, 'X-Test: a\u0000b'])],
        [
          'two different Content-Lengths',
          rawRequest(
            [
              `POST ${CALLBACKS_PATH} HTTP/1.1`,
              host,
              a,
              'Content-Type: application/json',
              `Content-Length: ${body.length}`,
              'Content-Length: 5',
            ],
            body,
          ),
        ],
        [
          'Content-Length and chunked',
          rawRequest(
            [
              `POST ${CALLBACKS_PATH} HTTP/1.1`,
              host,
              a,
              'Content-Type: application/json',
              `Content-Length: ${body.length}`,
              'Transfer-Encoding: chunked',
            ],
            `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
          ),
        ],
        [
          'non-numeric Content-Length',
          rawRequest(
            [
              `POST ${CALLBACKS_PATH} HTTP/1.1`,
              host,
              a,
              'Content-Type: application/json',
              'Content-Length: abc',
            ],
            body,
          ),
        ],
        [
          'negative Content-Length',
          rawRequest(
            [
              `POST ${CALLBACKS_PATH} HTTP/1.1`,
              host,
              a,
              'Content-Type: application/json',
              'Content-Length: -1',
            ],
            body,
          ),
        ],
        [
          'bad chunk size',
          rawRequest(
            [
              `POST ${CALLBACKS_PATH} HTTP/1.1`,
              host,
              a,
              'Content-Type: application/json',
              'Transfer-Encoding: chunked',
            ],
            'zz\r\nabc\r\n0\r\n\r\n',
          ),
        ],
        ['huge header', rawRequest([`GET /healthz HTTP/1.1`, host, `X-Big: ${'a'.repeat(70_000)}`])],
        [
          '300 headers',
          rawRequest([
            `GET ${CALLBACKS_PATH} HTTP/1.1`,
            host,
            a,
            ...Array.from({ length: 300 }, (_, k) => `X-H${k}: ${k}`),
          ]),
        ],
        ['bare LF line endings', Buffer.from(`GET /healthz HTTP/1.1\nHost: x\n\n`)],
        ['obs-fold header', rawRequest([`GET /healthz HTTP/1.1`, host, 'X-Fold: a', ' b'])],
        ['absolute-form target', rawRequest([`GET http://evil.example${CALLBACKS_PATH} HTTP/1.1`, host, a])],
        [
          'two Authorization headers',
          rawRequest([`GET ${CALLBACKS_PATH} HTTP/1.1`, host, a, 'Authorization: Bearer x']),
        ],
        ['CR in header value', Buffer.from(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n`)],
        [
          'non-ASCII header value',
          rawRequest([
            `GET ${CALLBACKS_PATH} HTTP/1.1`,
            host,
            `Authorization: Bearer cbk_é${'ü'.repeat(40)}`,
          ]),
        ],
        [
          'Content-Length larger than the body',
          rawRequest(
            [
              `POST ${CALLBACKS_PATH} HTTP/1.1`,
              host,
              a,
              'Content-Type: application/json',
              `Content-Length: ${body.length + 100}`,
            ],
            body,
          ),
          true,
        ],
        ['unknown method', rawRequest([`BREW ${CALLBACKS_PATH} HTTP/1.1`, host, a])],
        ['CONNECT', rawRequest(['CONNECT 127.0.0.1:22 HTTP/1.1', host])],
      ];
      const [what, raw, mayGoUnanswered] = pick(ctx.random, variants);
      return { category: 'bad-http', what, raw, ...(mayGoUnanswered ? { mayGoUnanswered } : {}) };
    },
  },
  'content-types': {
    weight: 7,
    make: (ctx, i) => {
      const body = JSON.stringify(validBody(ctx, `bad-${i}`));
      const type = pick(ctx.random, [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'application/JSON',
        'application/json, text/plain',
        'application/merge-patch+json',
        'application/json-patch+json',
        '*/*',
        ';;;',
        'application/json; charset="utf-8"; x=',
        '',
      ]);
      const payload = type.startsWith('application/x-www-form')
        ? 'callbackId=x&callbackNumber=1'
        : type.includes('xml')
          ? '<a/>'
          : body;
      const headers: Record<string, string> = { ...auth(ctx.keys.all) };
      if (type !== '') headers['content-type'] = type;
      const method = ctx.random() < 0.75 ? 'POST' : 'PATCH';
      return {
        category: 'content-types',
        what: `${method} ${type || '(none)'}`,
        method,
        path: method === 'POST' ? CALLBACKS_PATH : `${CALLBACKS_PATH}/${ctx.existingId}`,
        headers,
        body: payload,
      };
    },
  },
  oversize: {
    weight: 4,
    make: (ctx, i) => {
      const size = pick(ctx.random, [65_537, 70_000, 200_000, 1_048_576, 4_194_304]);
      const body = validBody(ctx, `bad-${i}`);
      setPath(body, 'customerData.padding', 'x'.repeat(size));
      const send = ctx.random() < 0.8 ? post : patch;
      return send(ctx, 'oversize', `${size} bytes`, JSON.stringify(body));
    },
  },
  'bad-auth': {
    weight: 10,
    make: (ctx, i) => {
      const body = JSON.stringify(validBody(ctx, `bad-${i}`));
      const variants: [string, Record<string, string>, string, string][] = [
        ['no Authorization', {}, 'POST', CALLBACKS_PATH],
        ['Bearer alone', { authorization: 'Bearer' }, 'POST', CALLBACKS_PATH],
        ['Bearer and spaces', { authorization: 'Bearer    ' }, 'GET', CALLBACKS_PATH],
        [
          'Basic scheme',
          { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
          'GET',
          CALLBACKS_PATH,
        ],
        ['unknown key', { authorization: `Bearer cbk_${'A'.repeat(40)}` }, 'POST', CALLBACKS_PATH],
        ['short key', { authorization: 'Bearer cbk_x' }, 'GET', `${CALLBACKS_PATH}/${ctx.existingId}`],
        ['10 KiB key', { authorization: `Bearer cbk_${'A'.repeat(10_240)}` }, 'POST', CALLBACKS_PATH],
        ['revoked key', auth(ctx.keys.revoked), 'POST', CALLBACKS_PATH],
        ['view-only key creates', auth(ctx.keys.viewOnly), 'POST', CALLBACKS_PATH],
        ['view-only key cancels', auth(ctx.keys.viewOnly), 'DELETE', `${CALLBACKS_PATH}/${ctx.existingId}`],
        ['other tenant reads', auth(ctx.keys.otherTenant), 'GET', `${CALLBACKS_PATH}/${ctx.existingId}`],
        ['other tenant cancels', auth(ctx.keys.otherTenant), 'DELETE', `${CALLBACKS_PATH}/${ctx.existingId}`],
        ['other tenant patches', auth(ctx.keys.otherTenant), 'PATCH', `${CALLBACKS_PATH}/${ctx.existingId}`],
        ['key with a trailing dot', { authorization: `Bearer ${ctx.keys.all}.` }, 'GET', CALLBACKS_PATH],
        [
          'key in lower case',
          { authorization: `Bearer ${ctx.keys.all.toLowerCase()}` },
          'GET',
          CALLBACKS_PATH,
        ],
        ['key as a query parameter', {}, 'GET', `${CALLBACKS_PATH}?access_token=${ctx.keys.all}`],
        ['key with a prototype name', { authorization: 'Bearer __proto__' }, 'GET', CALLBACKS_PATH],
      ];
      const [what, headers, method, path] = pick(ctx.random, variants);
      const hasBody = method === 'POST' || method === 'PATCH';
      return {
        category: 'bad-auth',
        what,
        method,
        path,
        headers: { ...headers, ...(hasBody ? json : {}) },
        ...(hasBody ? { body } : {}),
      };
    },
  },
  'paths-queries': {
    weight: 10,
    make: (ctx) => {
      const ids = [
        '',
        'a'.repeat(129),
        'a'.repeat(5_000),
        '..%2F..%2Fetc%2Fpasswd',
        '%00',
        '%zz',
        '%',
        '%C0%AF',
        '%F0%9F%98%80',
        'a%2Fb',
        'a b',
        'a;b',
        "'",
        'null',
        'undefined',
        'hasOwnProperty',
        ctx.existingId.toUpperCase(),
      ];
      const queries = [
        'limit=-1',
        'limit=0',
        'limit=1000000000',
        'limit=abc',
        'limit=1.5',
        'limit=1e3',
        'cursor=garbage',
        `cursor=${Buffer.from('{"pk":-1}').toString('base64url')}`,
        `cursor=${Buffer.from('{"afterPk":"1 or 1=1"}').toString('base64url')}`,
        `cursor=${'A'.repeat(4_000)}`,
        'status=bogus',
        'status=pending&status=accepted',
        'status[]=pending',
        'from=not-a-date',
        'from=2024-13-45T00:00:00Z&to=1999-01-01T00:00:00Z',
        'queueId=%00',
        `queueId=${'q'.repeat(2_000)}`,
        'x'.repeat(8_000),
        '&&&===',
        'limit=%FF',
      ];
      const shape = randomInt(ctx.random, 0, 4);
      const headers = auth(ctx.keys.all);
      if (shape === 0) {
        const id = pick(ctx.random, ids);
        const method = pick(ctx.random, ['GET', 'DELETE']);
        return {
          category: 'paths-queries',
          what: `${method} id ${id.slice(0, 30)}`,
          method,
          path: `${CALLBACKS_PATH}/${id}`,
          headers,
        };
      }
      if (shape === 1) {
        const q = pick(ctx.random, queries);
        return {
          category: 'paths-queries',
          what: `list ?${q.slice(0, 40)}`,
          method: 'GET',
          path: `${CALLBACKS_PATH}?${q}`,
          headers,
        };
      }
      if (shape === 2) {
        const id = pick(ctx.random, [...ids, SUPPORT_QUEUE_ID.toUpperCase(), '../callbacks']);
        return {
          category: 'paths-queries',
          what: `queue ${id.slice(0, 30)}`,
          method: 'GET',
          path: `/api/v2/routing/queues/${id}`,
          headers,
        };
      }
      if (shape === 3) {
        const method = pick(ctx.random, ['PUT', 'OPTIONS', 'HEAD', 'TRACE', 'PATCH', 'DELETE']);
        const path = pick(ctx.random, [
          CALLBACKS_PATH,
          '/healthz',
          '/metrics',
          '/openapi.json',
          `${CALLBACKS_PATH}/${ctx.existingId}`,
        ]);
        return { category: 'paths-queries', what: `${method} ${path}`, method, path, headers };
      }
      const path = pick(ctx.random, [
        '/api/v2/routing/callbacks/../../admin',
        '/api/v2/../../etc/passwd',
        '//api//v2//routing//callbacks',
        '/api/v2/routing/callbacks/',
        '/API/V2/ROUTING/CALLBACKS',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/.env',
        '/web/../package.json',
        `/${'a/'.repeat(2_000)}`,
        '/index.html?%zz',
      ]);
      return { category: 'paths-queries', what: path.slice(0, 40), method: 'GET', path, headers };
    },
  },
  'random-json': {
    weight: 10,
    make: (ctx, i) => {
      const mode = randomInt(ctx.random, 0, 2);
      let text: string;
      if (mode === 0) text = pick(ctx.random, ctx.jsonTexts);
      else if (mode === 1) {
        // A valid body with random extra and replaced members.
        const body = validBody(ctx, `bad-${i}`);
        for (let k = 0; k < 3; k++)
          setPath(
            body,
            pick(ctx.random, [...FIELDS, 'extra', 'customerData.x']),
            pick(ctx.random, ctx.anyValues),
          );
        text = JSON.stringify(body);
      } else {
        // A valid body cut at a random byte.
        const s = JSON.stringify(validBody(ctx, `bad-${i}`));
        text = s.slice(0, randomInt(ctx.random, 0, s.length - 1));
      }
      const send = ctx.random() < 0.8 ? post : patch;
      return send(ctx, 'random-json', `mode ${mode}`, text);
    },
  },
  semantics: {
    weight: 7,
    make: (ctx, i) => {
      const body = validBody(ctx, `bad-${i}`);
      const variants: [string, unknown][] = [
        ['scheduledTime', '1970-01-01T00:00:00Z'],
        ['scheduledTime', '2999-01-01T00:00:00Z'],
        ['scheduledTime', '2024-06-15T16:00:00'],
        ['scheduledTime', '2024-06-15T16:00:00+25:00'],
        ['scheduledTime', new Date(Date.now() + 60_000).toISOString().replace('Z', '+00:00')],
        ['scheduledLocalTime', '2026-03-08T02:30:00'],
        ['timeZone', 'Etc/GMT+14'],
        ['timeZone', '../../etc/localtime'],
        ['dstPolicy', 'both'],
        ['dtmf', '12'],
        ['dtmf', '#'],
        ['timeout', 1e12],
        ['timeout', 4],
        ['routingData.priority', 2 ** 53 + 1],
        ['routingData.priority', -1e9],
        ['routingData.queueId', 'b2c3d4e5-f6a7-8901-bcde-f12345678901'],
        ['routingData.wrapUpCode', 'NOT_A_CODE'],
        ['callbackNumber', '+14155550000'],
        ['callbackNumber', '+44 20 7946 0958'],
        ['callbackNumber', '0014155552671'],
        ['callbackFrom', '+18005550000'],
        ['callbackId', 'has space'],
        ['callbackId', 'a'.repeat(128)],
        ['callbackId', 'ü'],
        ['mediaType', 'email'],
        ['customerData.externalId', 'CRM-UNKNOWN'],
        ['customerData', Object.fromEntries(Array.from({ length: 60 }, (_, k) => [`k${k}`, 'v']))],
      ];
      const [field, value] = pick(ctx.random, variants);
      setPath(body, field, value);
      if (field === 'scheduledLocalTime') delete body['scheduledTime'];
      return post(ctx, 'semantics', `${field} = ${JSON.stringify(value).slice(0, 40)}`, JSON.stringify(body));
    },
  },
};

/** Categories made of a fixed list of cases: their answers are also tallied per case. */
const DETAILED = new Set(['bad-http', 'bad-auth', 'content-types', 'paths-queries']);

function generate(ctx: Ctx, i: number): Case {
  const entries = Object.values(GENERATORS);
  const total = entries.reduce((s, g) => s + g.weight, 0);
  let roll = ctx.random() * total;
  for (const g of entries) {
    roll -= g.weight;
    if (roll < 0) return g.make(ctx, i);
  }
  return entries[entries.length - 1]!.make(ctx, i);
}

async function sendRaw(base: string, raw: Buffer, timeoutMs: number): Promise<Outcome> {
  const { hostname, port } = new URL(base);
  const started = performance.now();
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    let settled = false;
    const socket = connect({ host: hostname, port: Number(port) });
    const finish = (status: Outcome['status']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        status,
        problemJson: /content-type:\s*application\/problem\+json/i.test(data.toString('latin1')),
        ms: performance.now() - started,
      });
    };
    const timer = setTimeout(() => finish('no-answer'), timeoutMs);
    socket.on('connect', () => socket.write(raw));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.toString('latin1', 0, Math.min(data.length, 32)));
      if (m && data.includes('\r\n\r\n')) finish(Number(m[1]));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.toString('latin1', 0, Math.min(data.length, 32)));
      finish(m ? Number(m[1]) : 'closed');
    });
  });
}

async function sendCase(agent: Agent, base: string, c: Case, rawTimeoutMs: number): Promise<Outcome> {
  if (c.raw) return sendRaw(base, c.raw, rawTimeoutMs);
  const started = performance.now();
  try {
    const res = await request(base + c.path!, {
      method: c.method as 'GET',
      headers: c.headers,
      body: c.body,
      dispatcher: agent,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    await res.body.dump();
    const type = String(res.headers['content-type'] ?? '');
    return {
      status: res.statusCode,
      problemJson: type.startsWith('application/problem+json'),
      ms: performance.now() - started,
    };
  } catch {
    // The server may close a connection while a large body is still being written (after a 413).
    return { status: 'closed', problemJson: false, ms: performance.now() - started };
  }
}

async function probe(
  agent: Agent,
  base: string,
  ctx: Ctx,
  label: string,
  n: number,
): Promise<{ samples: number[]; failures: number }> {
  const samples: number[] = [];
  let failures = 0;
  for (let k = 0; k < n; k++) {
    const body = JSON.stringify(validBody(ctx, `probe-${label}-${k}`));
    const started = performance.now();
    const res = await request(`${base}${CALLBACKS_PATH}`, {
      method: 'POST',
      headers: { ...auth(ctx.keys.all), ...json },
      body,
      dispatcher: agent,
    });
    await res.body.dump();
    samples.push(performance.now() - started);
    if (res.statusCode !== 201) failures++;
  }
  return { samples, failures };
}

export interface BadInputResult {
  name: 'bad-input';
  ok: boolean;
  verdict: string;
  seed: number;
  count: number;
  byCategory: Record<string, Record<string, number>>;
  byStatus: Record<string, number>;
  /** Answers per generated case, for the categories whose cases are a fixed list. */
  byCase: Record<string, Record<string, number>>;
  serverErrors: number;
  unanswered: number;
  apiErrorsWithoutProblemJson: Record<string, number>;
  probe: { p50BeforeMs: number; p50AfterMs: number; ratio: number; maxSlowdown: number; failures: number };
  rssKb: { before: number | null; after: number | null };
  durationMs: number;
  violations: Violation[];
  violationCount: number;
}

export async function runBadInput(options: Partial<BadInputOptions> = {}): Promise<BadInputResult> {
  const o: BadInputOptions = { ...BAD_INPUT_FULL, ...options };
  const log = o.log ?? (() => {});
  const started = Date.now();
  const random = seededRandom(o.seed);
  const cluster = await Cluster.start({
    customers: 5,
    seed: o.seed,
    ...(o.keepDir ? { keepDir: true } : {}),
  });
  const agent = new Agent({ connections: o.concurrency * 2, keepAliveTimeout: 2_000 });
  const violations: Violation[] = [];
  try {
    const [viewOnly, otherTenant, revoked] = await cluster.createKeysDirect([
      { tenant: TENANT, scopes: 'routing:callback:view' },
      { tenant: 't2', scopes: SCOPES },
      { tenant: TENANT, scopes: SCOPES, revoked: true },
    ]);
    const keys: Keys = {
      all: cluster.key,
      viewOnly: viewOnly!,
      otherTenant: otherTenant!,
      revoked: revoked!,
    };
    const base = await cluster.startServe();
    const customer = cluster.customers[0]!;

    const ctx: Ctx = {
      random,
      keys,
      existingId: 'bad-input-existing',
      customer,
      anyValues: fc.sample(fc.anything({ maxDepth: 3, withNullPrototype: false }), {
        numRuns: 400,
        seed: o.seed,
      }),
      jsonTexts: [
        ...fc.sample(fc.json({ maxDepth: 4 }), { numRuns: 300, seed: o.seed }),
        ...fc.sample(fc.string({ unit: 'binary', maxLength: 200 }), { numRuns: 100, seed: o.seed + 1 }),
      ],
      strings: fc.sample(fc.string({ unit: 'grapheme', maxLength: 100 }), { numRuns: 200, seed: o.seed + 2 }),
    };
    const existing = await request(`${base}${CALLBACKS_PATH}`, {
      method: 'POST',
      headers: { ...auth(keys.all), ...json },
      body: JSON.stringify(validBody(ctx, ctx.existingId)),
      dispatcher: agent,
    });
    await existing.body.dump();
    if (existing.statusCode !== 201)
      throw new Error(`setup: creating the existing callback answered ${existing.statusCode}`);

    // Warm up, then time the probe.
    await probe(agent, base, ctx, 'warmup', Math.max(10, Math.floor(o.probes / 2)));
    const before = await probe(agent, base, ctx, 'before', o.probes);
    const rssBefore = await cluster.rssKb();
    log(`bad-input: probe p50 before ${round(percentile(before.samples, 50))} ms; sending ${o.count} cases`);

    const byCategory: Record<string, Record<string, number>> = {};
    const byStatus: Record<string, number> = {};
    const byCase: Record<string, Record<string, number>> = {};
    const withoutProblem: Record<string, number> = {};
    let serverErrors = 0;
    let unanswered = 0;
    let next = 0;
    const worker = async () => {
      while (next < o.count) {
        const i = next++;
        const c = generate(ctx, i);
        const out = await sendCase(agent, base, c, o.rawTimeoutMs);
        const key = String(out.status);
        if (DETAILED.has(c.category)) {
          byCase[`${c.category}: ${c.what}`] ??= {};
          tally(byCase[`${c.category}: ${c.what}`]!, key);
        }
        byCategory[c.category] ??= {};
        tally(byCategory[c.category]!, key);
        tally(byStatus, key);
        if (typeof out.status === 'number' && out.status >= 500) {
          serverErrors++;
          violations.push({ kind: 'server-error', detail: `${c.category}: ${c.what} → ${out.status}` });
        } else if (out.status === 'no-answer' && !c.mayGoUnanswered) {
          unanswered++;
          violations.push({
            kind: 'unanswered',
            detail: `${c.category}: ${c.what} got no answer in ${o.rawTimeoutMs} ms`,
          });
        } else if (
          typeof out.status === 'number' &&
          out.status >= 400 &&
          !c.raw &&
          c.path?.startsWith('/api/') &&
          !out.problemJson &&
          c.method !== 'HEAD'
        ) {
          tally(withoutProblem, `${out.status} ${c.category}`);
        }
        if ((i + 1) % 2_000 === 0) log(`bad-input: ${i + 1} of ${o.count} sent`);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));

    // Still alive and as quick as before?
    const after = await probe(agent, base, ctx, 'after', o.probes);
    const rssAfter = await cluster.rssKb();
    const p50Before = percentile(before.samples, 50);
    const p50After = percentile(after.samples, 50);
    const ratio = p50After / p50Before;
    if (after.failures + before.failures > 0) {
      violations.push({
        kind: 'refused',
        detail: `${before.failures} + ${after.failures} valid probe requests were not answered 201`,
      });
    }
    if (ratio > o.maxSlowdown) {
      violations.push({
        kind: 'latency',
        detail: `a valid request's p50 went from ${round(p50Before)} ms to ${round(p50After)} ms (× ${round(ratio)}; at most × ${o.maxSlowdown})`,
      });
    }
    for (const exit of cluster.unexpectedExits) {
      violations.push({
        kind: 'crash',
        detail: `serve exited on its own (code ${exit.code}, signal ${exit.signal})`,
      });
    }
    await cluster.stop();

    const ok = violations.length === 0;
    const result: BadInputResult = {
      name: 'bad-input',
      ok,
      verdict: ok
        ? `PASS: ${o.count} hostile requests, 0 5xx, 0 unanswered; valid-request p50 × ${round(ratio)} afterwards`
        : `FAIL: ${violations.length} violation(s) — ${describeViolations(violations, 2).join(' | ')}`,
      seed: o.seed,
      count: o.count,
      byCategory,
      byStatus,
      byCase,
      serverErrors,
      unanswered,
      apiErrorsWithoutProblemJson: withoutProblem,
      probe: {
        p50BeforeMs: round(p50Before),
        p50AfterMs: round(p50After),
        ratio: round(ratio),
        maxSlowdown: o.maxSlowdown,
        failures: before.failures + after.failures,
      },
      rssKb: { before: rssBefore, after: rssAfter },
      durationMs: Date.now() - started,
      violations: violations.slice(0, 200),
      violationCount: violations.length,
    };
    if (o.resultsName) writeResults(o.resultsName, { ...result, finishedAt: new Date().toISOString() });
    return result;
  } finally {
    await agent.close();
    await cluster.close();
  }
}

export function formatBadInput(r: BadInputResult): string[] {
  const cats = Object.entries(r.byCategory)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([c, s]) =>
        `    ${c.padEnd(14)} ${Object.entries(s)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}:${v}`)
          .join(' ')}`,
    );
  return [
    `bad-input: ${r.count} generated requests in ${round(r.durationMs / 1000, 1)} s (seed ${r.seed}); answers by status ${JSON.stringify(r.byStatus)}`,
    ...cats,
    `  5xx: ${r.serverErrors}; unanswered: ${r.unanswered}; API 4xx without problem+json: ${JSON.stringify(r.apiErrorsWithoutProblemJson)}`,
    `  valid-request probe p50: before ${r.probe.p50BeforeMs} ms, after ${r.probe.p50AfterMs} ms, ratio ${r.probe.ratio} (at most ${r.probe.maxSlowdown}); serve RSS ${r.rssKb.before ?? '?'} → ${r.rssKb.after ?? '?'} kB`,
    `bad-input verdict: ${r.verdict}`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const num = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const result = await runBadInput({
    ...(num('count') !== undefined ? { count: num('count')! } : {}),
    ...(num('seed') !== undefined ? { seed: num('seed')! } : {}),
    ...(args.includes('--keep') ? { keepDir: true } : {}),
    log: (l) => console.log(l),
  });
  for (const line of formatBadInput(result)) console.log(line);
  process.exitCode = result.ok ? 0 : 1;
}
