/** `callbackd schedule|status|cancel|list`: thin clients of the northbound API. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CallbackResource } from '../../domain/types.js';
import { type ApiAnswer, ApiClient, exitCodeFor, resolveTarget } from '../api-client.js';
import { type ExitCode, usageError } from '../exit.js';
import { formatCallback, formatProblem, formatRow } from '../output.js';
import { registerSlotsCommand } from './slots.js';

export interface ClientOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'callbackd API base URL (env CALLBACKD_URL; default http://127.0.0.1:8080)')
    .option('--key <key>', 'API key (env CALLBACKD_KEY)')
    .option('--json', 'print the API answer as JSON (for scripts)');
}

/** Prints an answer: the body as JSON with --json, else `render` for 2xx and the problem for the rest. */
export function report(
  io: Io,
  answer: ApiAnswer,
  json: boolean | undefined,
  render: (body: unknown) => string,
): ExitCode {
  const code = exitCodeFor(answer.status);
  if (json) {
    (code === 0 ? io.out : io.err)(JSON.stringify(answer.body, null, 2));
  } else if (code === 0) {
    io.out(render(answer.body));
  } else {
    io.err(formatProblem(answer.status, answer.body));
  }
  return code;
}

export async function withClient(
  opts: ClientOptions,
  fn: (client: ApiClient) => Promise<ExitCode>,
): Promise<ExitCode> {
  const client = new ApiClient(resolveTarget(opts));
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

const idPath = (id: string) => `/api/v2/routing/callbacks/${encodeURIComponent(id)}`;

interface ScheduleOptions extends ClientOptions {
  body?: string;
  id?: string;
  number?: string;
  from?: string;
  to?: string;
  time?: string;
  localTime?: string;
  zone?: string;
  dstPolicy?: string;
  queue?: string;
  priority?: string;
  wrapUpCode?: string;
  timeout?: string;
  externalId?: string;
  firstName?: string;
  lastName?: string;
  attr?: string[];
  dtmf?: string;
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw usageError(`${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

/** The request body from --body (a JSON file or - for stdin) overlaid with the flags. */
export function scheduleBody(
  opts: ScheduleOptions,
  readStdin: () => string = () => readFileSync(0, 'utf8'),
): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  if (opts.body !== undefined) {
    const text = opts.body === '-' ? readStdin() : readFileSync(opts.body, 'utf8');
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw usageError(`--body ${opts.body} is not JSON`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw usageError('--body must hold a JSON object');
  }
  const set = (key: string, value: unknown) => {
    if (value !== undefined) body[key] = value;
  };
  set('callbackId', opts.id);
  set('callbackNumber', opts.number);
  set('callbackFrom', opts.from);
  set(
    'callbackTo',
    opts.to ?? (opts.from !== undefined && body.callbackTo === undefined ? opts.from : undefined),
  );
  set('scheduledTime', opts.time);
  set('scheduledLocalTime', opts.localTime);
  set('timeZone', opts.zone);
  set('dstPolicy', opts.dstPolicy);
  set('timeout', integer(opts.timeout, '--timeout'));
  set('dtmf', opts.dtmf);
  const routing = { ...((body.routingData as Record<string, unknown> | undefined) ?? {}) };
  if (opts.queue !== undefined) routing.queueId = opts.queue;
  const priority = integer(opts.priority, '--priority');
  if (priority !== undefined) routing.priority = priority;
  if (opts.wrapUpCode !== undefined) routing.wrapUpCode = opts.wrapUpCode;
  if (Object.keys(routing).length > 0) body.routingData = routing;
  const customer = { ...((body.customerData as Record<string, unknown> | undefined) ?? {}) };
  if (opts.externalId !== undefined) customer.externalId = opts.externalId;
  if (opts.firstName !== undefined) customer.firstName = opts.firstName;
  if (opts.lastName !== undefined) customer.lastName = opts.lastName;
  for (const pair of opts.attr ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usageError(`--attr ${pair} must be name=value`);
    customer[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (Object.keys(customer).length > 0) body.customerData = customer;
  if (body.mediaType === undefined) body.mediaType = 'voice';
  return body;
}

export function registerClientCommands(program: Command, io: Io, setExit: (code: ExitCode) => void): void {
  addClientOptions(
    program
      .command('schedule')
      .description('schedule a callback (POST /api/v2/routing/callbacks); flags override --body')
      .option('--body <file>', 'a JSON request body, or - for stdin')
      .option('--id <callbackId>', 'callbackId (default: derived from --external-id and the time)')
      .option('--number <e164>', "the customer's number (must be on the customer's trusted record)")
      .option('--from <did>', 'callbackFrom DID')
      .option('--to <did>', 'callbackTo DID (default: --from)')
      .option('--time <iso>', 'scheduledTime, ISO 8601 with Z or an offset')
      .option('--local-time <wallclock>', 'scheduledLocalTime, e.g. 2025-06-15T12:00 (with --zone)')
      .option('--zone <iana>', 'timeZone for --local-time, e.g. America/New_York')
      .option('--dst-policy <earlier|later>', 'which instant to take in a DST gap or overlap')
      .option('--queue <queueId>', 'routingData.queueId')
      .option('--priority <n>', 'routingData.priority (default: the queue default)')
      .option('--wrap-up-code <code>', 'routingData.wrapUpCode')
      .option('--timeout <seconds>', 'seconds to wait for answer and DTMF')
      .option('--external-id <id>', 'customerData.externalId (CRM id)')
      .option('--first-name <name>', 'customerData.firstName')
      .option('--last-name <name>', 'customerData.lastName')
      .option('--attr <name=value...>', 'extra customerData attributes')
      .option('--dtmf <digit>', 'verification digit (queues that verify by DTMF)'),
  ).action(async (opts: ScheduleOptions) => {
    const body = scheduleBody(opts);
    setExit(
      await withClient(opts, async (client) => {
        const answer = await client.call('POST', '/api/v2/routing/callbacks', body);
        return report(io, answer, opts.json, (b) => {
          const replayed = answer.headers['idempotent-replayed'] === 'true';
          return `${replayed ? 'already scheduled (idempotent replay)' : 'scheduled'}\n${formatCallback(b as CallbackResource)}`;
        });
      }),
    );
  });

  addClientOptions(
    program.command('status').description('show one callback and its history').argument('<callbackId>'),
  ).action(async (id: string, opts: ClientOptions) => {
    setExit(
      await withClient(opts, async (client) =>
        report(io, await client.call('GET', idPath(id)), opts.json, (b) =>
          formatCallback(b as CallbackResource),
        ),
      ),
    );
  });

  addClientOptions(
    program.command('cancel').description('cancel a callback (safe to repeat)').argument('<callbackId>'),
  ).action(async (id: string, opts: ClientOptions) => {
    setExit(
      await withClient(opts, async (client) =>
        report(
          io,
          await client.call('DELETE', idPath(id)),
          opts.json,
          (b) => `cancelled\n${formatCallback(b as CallbackResource)}`,
        ),
      ),
    );
  });

  addClientOptions(
    program
      .command('list')
      .description('list callbacks in creation order, a page at a time (--all follows every page)')
      .option('--status <status>', 'accepted|pending|completed|expired|rejected|cancelled')
      .option('--queue <queueId>', 'only this queue')
      .option('--from <iso>', 'scheduled at or after')
      .option('--to <iso>', 'scheduled before')
      .option('--limit <n>', 'page size')
      .option('--cursor <cursor>', 'continue from a previous page')
      .option('--all', 'follow nextCursor to the last page'),
  ).action(
    async (
      opts: ClientOptions & {
        status?: string;
        queue?: string;
        from?: string;
        to?: string;
        limit?: string;
        cursor?: string;
        all?: boolean;
      },
    ) => {
      setExit(
        await withClient(opts, async (client) => {
          let cursor = opts.cursor;
          const items: unknown[] = [];
          for (;;) {
            const q = new URLSearchParams();
            if (opts.status) q.set('status', opts.status);
            if (opts.queue) q.set('queueId', opts.queue);
            if (opts.from) q.set('from', opts.from);
            if (opts.to) q.set('to', opts.to);
            if (opts.limit) q.set('limit', opts.limit);
            if (cursor) q.set('cursor', cursor);
            const answer = await client.call('GET', `/api/v2/routing/callbacks?${q}`);
            if (exitCodeFor(answer.status) !== 0) return report(io, answer, opts.json, () => '');
            const page = answer.body as { items: CallbackResource[]; nextCursor: string | null };
            if (!opts.all) {
              return report(io, answer, opts.json, () =>
                [
                  ...page.items.map(formatRow),
                  ...(page.nextCursor ? [`(more: --cursor ${page.nextCursor})`] : []),
                ].join('\n'),
              );
            }
            items.push(...page.items);
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          if (opts.json) io.out(JSON.stringify({ items, nextCursor: null }, null, 2));
          else io.out((items as CallbackResource[]).map(formatRow).join('\n'));
          return 0;
        }),
      );
    },
  );

  registerSlotsCommand(program, io, setExit);
}
