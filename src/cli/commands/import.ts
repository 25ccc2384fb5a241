/**
 * `callbackd import FILE.csv`: bulk-schedules one callback per CSV row through the API.
 *
 * - Streams the file (csv-parse), never loading it whole; at most `concurrency` requests in flight.
 * - Idempotent by construction: each row's callbackId is either its own column or derived by the
 *   API from externalId + scheduled time, so a row sent twice is answered 201 "replayed", never
 *   scheduled twice.
 * - Resumable: `<FILE>.import-state.json` records the highest row number below which every row is
 *   finished; a re-run skips those rows and re-sends the rest (replays are harmless). Refused rows go
 *   to `<FILE minus .csv>.refused.csv` with their reasons; on resume the rows past the mark are
 *   dropped from it and re-judged, so each refused row appears exactly once.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import type { Violation } from '../../domain/types.js';
import { ApiClient, type ApiTarget } from '../api-client.js';
import { CliError, EXIT, type ExitCode, usageError } from '../exit.js';

/** CSV column → where it goes in the request body. `customerData.<name>` columns add attributes. */
export const IMPORT_COLUMNS: Record<string, { path: string[]; integer?: boolean }> = {
  callbackId: { path: ['callbackId'] },
  callbackNumber: { path: ['callbackNumber'] },
  callbackFrom: { path: ['callbackFrom'] },
  callbackTo: { path: ['callbackTo'] },
  scheduledTime: { path: ['scheduledTime'] },
  scheduledLocalTime: { path: ['scheduledLocalTime'] },
  timeZone: { path: ['timeZone'] },
  dstPolicy: { path: ['dstPolicy'] },
  timeout: { path: ['timeout'], integer: true },
  mediaType: { path: ['mediaType'] },
  dtmf: { path: ['dtmf'] },
  queueId: { path: ['routingData', 'queueId'] },
  priority: { path: ['routingData', 'priority'], integer: true },
  wrapUpCode: { path: ['routingData', 'wrapUpCode'] },
  externalId: { path: ['customerData', 'externalId'] },
  firstName: { path: ['customerData', 'firstName'] },
  lastName: { path: ['customerData', 'lastName'] },
};
/** Columns the refused-rows file adds; ignored on import so a fixed refused file can be re-imported. */
const BOOKKEEPING = new Set(['_row', '_errors']);

export interface ImportOptions {
  file: string;
  target: ApiTarget;
  /** Where refused rows go; default FILE with .csv replaced by .refused.csv. */
  refusedPath?: string;
  concurrency?: number;
  /** Ignore a saved state and start from the first row. */
  restart?: boolean;
  /** 'tty' draws a bar, 'plain' prints lines; default: tty when stderr is a terminal. */
  progress?: 'tty' | 'plain' | 'none';
  /** Plain progress lines and notices (default: stderr). */
  err?: (text: string) => void;
  /** Where the TTY bar is drawn (default: stderr). */
  tty?: (chunk: string) => void;
}

export interface ImportSummary {
  file: string;
  rows: number;
  accepted: number;
  replayed: number;
  refused: number;
  skippedAsDone: number;
  refusedFile: string | null;
  seconds: number;
  interrupted: boolean;
}

interface ImportState {
  version: 1;
  size: number;
  headSha256: string;
  /** Every data row numbered ≤ this is finished (accepted, replayed or written to the refused file). */
  doneThrough: number;
}

export function defaultRefusedPath(file: string): string {
  return file.toLowerCase().endsWith('.csv') ? `${file.slice(0, -4)}.refused.csv` : `${file}.refused.csv`;
}

function headDigest(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(65_536);
    const n = readSync(fd, buf);
    return createHash('sha256').update(buf.subarray(0, n)).digest('hex');
  } finally {
    closeSync(fd);
  }
}

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvLine(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Header check: every column known (or customerData.<name>, or bookkeeping). */
export function checkHeader(header: readonly string[]): void {
  const unknown = header.filter(
    (h) => !(h in IMPORT_COLUMNS) && !BOOKKEEPING.has(h) && !/^customerData\.[A-Za-z0-9_.-]{1,64}$/.test(h),
  );
  if (unknown.length > 0) {
    throw usageError(
      `unknown CSV column(s) ${unknown.join(', ')}; columns are ${Object.keys(IMPORT_COLUMNS).join(', ')} and customerData.<name>`,
    );
  }
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) throw usageError(`CSV column ${dup} appears twice`);
  if (!header.includes('queueId')) throw usageError('the CSV needs a queueId column');
}

/** One CSV record → a request body, or the violations found without asking the server. */
export function rowToBody(
  header: readonly string[],
  record: readonly string[],
): { body: Record<string, unknown> } | { violations: Violation[] } {
  if (record.length !== header.length) {
    return {
      violations: [
        {
          code: 'CSV_FIELD_COUNT',
          field: '',
          message: `the row has ${record.length} fields but the header has ${header.length}; quote values that hold commas`,
        },
      ],
    };
  }
  const body: Record<string, unknown> = { mediaType: 'voice' };
  const violations: Violation[] = [];
  header.forEach((column, i) => {
    const raw = record[i]!;
    if (raw === '' || BOOKKEEPING.has(column)) return;
    const spec = IMPORT_COLUMNS[column];
    const path = spec ? spec.path : ['customerData', column.slice('customerData.'.length)];
    let value: unknown = raw;
    if (spec?.integer) {
      if (!/^-?\d+$/.test(raw.trim())) {
        violations.push({
          code: 'INVALID_TYPE',
          field: column,
          message: `${column} must be a whole number, got "${raw}"`,
        });
        return;
      }
      value = Number(raw.trim());
    }
    let node = body;
    for (const key of path.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  });
  if (body.callbackTo === undefined && body.callbackFrom !== undefined) body.callbackTo = body.callbackFrom;
  return violations.length > 0 ? { violations } : { body };
}

function describe(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.code}${v.field ? ` [${v.field}]` : ''}: ${v.message}`).join('; ');
}

class Progress {
  private lastDraw = 0;
  private lastPlain = 0;
  private readonly started = Date.now();

  constructor(
    private readonly mode: 'tty' | 'plain' | 'none',
    private readonly totalBytes: number,
    private readonly err: (text: string) => void,
    private readonly tty: (chunk: string) => void,
  ) {}

  update(
    s: { bytes: number; rows: number; accepted: number; replayed: number; refused: number },
    final = false,
  ): void {
    const now = Date.now();
    const elapsed = Math.max(0.001, (now - this.started) / 1000);
    const rate = s.rows / elapsed;
    const fraction = this.totalBytes > 0 ? Math.min(1, s.bytes / this.totalBytes) : 1;
    const etaSeconds = fraction > 0 && fraction < 1 ? (elapsed / fraction) * (1 - fraction) : 0;
    const etaWhole = Math.round(etaSeconds);
    const eta = `${Math.floor(etaWhole / 60)}:${String(etaWhole % 60).padStart(2, '0')}`;
    const counts = `${s.accepted} accepted, ${s.replayed} already there, ${s.refused} refused`;
    if (this.mode === 'tty') {
      if (!final && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round(fraction * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.tty(
        `\r${bar} ${String(Math.round(fraction * 100)).padStart(3)}%  ${s.rows} rows  ${rate.toFixed(0)} rows/s  ETA ${eta}  (${counts})\x1b[K${final ? '\n' : ''}`,
      );
    } else if (this.mode === 'plain') {
      if (!final && now - this.lastPlain < 2_000) return;
      this.lastPlain = now;
      this.err(
        `import: ${s.rows} rows (${Math.round(fraction * 100)}%), ${rate.toFixed(0)} rows/s, ETA ${eta}: ${counts}`,
      );
    }
  }
}

/** Sends one body; retries 429 (after Retry-After), 5xx and network failures, which are safe to repeat. */
async function send(
  client: ApiClient,
  body: Record<string, unknown>,
  stopping: () => boolean,
): Promise<{ kind: 'accepted' | 'replayed' } | { kind: 'refused'; violations: Violation[] }> {
  let failures = 0;
  for (;;) {
    let answer: Awaited<ReturnType<ApiClient['call']>> | undefined;
    let problem = '';
    try {
      answer = await client.call('POST', '/api/v2/routing/callbacks', body);
    } catch (err) {
      problem = (err as Error).message;
    }
    if (answer && answer.status === 201) {
      return { kind: answer.headers['idempotent-replayed'] === 'true' ? 'replayed' : 'accepted' };
    }
    if (answer && (answer.status === 401 || answer.status === 403)) {
      const p = answer.body as { errors?: Violation[] };
      throw new CliError(`the API refused the key: ${describe(p.errors ?? [])}`, EXIT.refused);
    }
    if (answer && answer.status === 429) {
      const wait = Number(answer.headers['retry-after']) || 1;
      await sleep(wait * 1000);
      continue;
    }
    if (answer && answer.status >= 400 && answer.status < 500) {
      const p = answer.body as { errors?: Violation[] } | null;
      const violations = Array.isArray(p?.errors)
        ? p.errors
        : [{ code: `HTTP_${answer.status}`, field: '', message: JSON.stringify(answer.body).slice(0, 300) }];
      return { kind: 'refused', violations };
    }
    if (answer) problem = `HTTP ${answer.status}`;
    failures++;
    if (failures >= 6 || stopping()) {
      throw new CliError(
        `callbackd did not take a row after ${failures} tries (${problem}); re-run the import to resume`,
        EXIT.unreachable,
      );
    }
    await sleep(Math.min(8_000, 250 * 2 ** failures) * (0.5 + Math.random() / 2));
  }
}

export async function runImport(
  opts: ImportOptions,
): Promise<{ summary: ImportSummary; exitCode: ExitCode }> {
  const err = opts.err ?? ((t: string) => process.stderr.write(`${t}\n`));
  if (!existsSync(opts.file)) throw usageError(`no such file: ${opts.file}`);
  const size = statSync(opts.file).size;
  const statePath = `${opts.file}.import-state.json`;
  const refusedPath = opts.refusedPath ?? defaultRefusedPath(opts.file);
  const concurrency = Math.max(1, Math.min(64, opts.concurrency ?? 8));
  const head = headDigest(opts.file);

  let resumeFrom = 0;
  if (!opts.restart && existsSync(statePath)) {
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as ImportState;
    if (state.version !== 1 || state.size !== size || state.headSha256 !== head) {
      throw usageError(
        `${statePath} belongs to another version of ${opts.file}; pass --restart to import it from the top`,
      );
    }
    resumeFrom = state.doneThrough;
    err(`import: resuming ${opts.file} after row ${resumeFrom}`);
  }
  const saveState = (doneThrough: number) =>
    writeAtomic(
      statePath,
      JSON.stringify({ version: 1, size, headSha256: head, doneThrough } satisfies ImportState),
    );

  // Refused rows already judged before the resume mark stay; the rest are judged again.
  let keptRefused: string[][] = [];
  if (resumeFrom > 0 && existsSync(refusedPath)) {
    const old = parseSync(readFileSync(refusedPath), { bom: true, relax_column_count: true }) as string[][];
    const rowIdx = old[0]?.indexOf('_row') ?? -1;
    keptRefused = rowIdx < 0 ? [] : old.slice(1).filter((r) => Number(r[rowIdx]) <= resumeFrom);
  }

  const client = new ApiClient(opts.target, { connections: concurrency });
  const progress = new Progress(
    opts.progress ?? (process.stderr.isTTY ? 'tty' : 'plain'),
    size,
    err,
    opts.tty ?? ((chunk) => process.stderr.write(chunk)),
  );
  const started = Date.now();
  const counts = { bytes: 0, rows: 0, accepted: 0, replayed: 0, refused: keptRefused.length };
  let skippedAsDone = 0;
  let refusedFd: number | undefined;
  let header: string[] | undefined;
  let fatal: CliError | undefined;
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);

  let watermark = resumeFrom;
  const finished = new Set<number>();
  const markFinished = (row: number) => {
    finished.add(row);
    while (finished.has(watermark + 1)) {
      finished.delete(watermark + 1);
      watermark++;
    }
  };
  const stateTimer = setInterval(() => saveState(watermark), 250);

  const writeRefused = (row: number, record: readonly string[], violations: readonly Violation[]) => {
    const columns = header!.filter((h) => !BOOKKEEPING.has(h));
    const values = header!.map((h, i) => [h, record[i] ?? ''] as const).filter(([h]) => !BOOKKEEPING.has(h));
    if (refusedFd === undefined) {
      refusedFd = openSync(refusedPath, 'w');
      writeSync(refusedFd, csvLine([...columns, '_row', '_errors']));
      for (const r of keptRefused) writeSync(refusedFd, csvLine(r));
    }
    writeSync(refusedFd, csvLine([...values.map(([, v]) => v), String(row), describe(violations)]));
    counts.refused++;
  };

  const input = createReadStream(opts.file);
  // info: each record comes with the byte offset it ends at, which drives the bar and the ETA.
  const parser = input.pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true }),
  );
  const inflight = new Set<Promise<void>>();
  let rowNo = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { bytes: number };
    }>) {
      counts.bytes = info.bytes;
      if (!header) {
        header = record.map((h) => h.trim());
        checkHeader(header);
        continue;
      }
      rowNo++;
      if (rowNo <= resumeFrom) {
        skippedAsDone++;
        continue;
      }
      if (fatal || interrupted) break;
      const row = rowNo;
      const task = (async () => {
        const mapped = rowToBody(header!, record);
        if ('violations' in mapped) {
          writeRefused(row, record, mapped.violations);
        } else {
          const outcome = await send(client, mapped.body, () => interrupted);
          if (outcome.kind === 'refused') writeRefused(row, record, outcome.violations);
          else counts[outcome.kind]++;
        }
        counts.rows++;
        markFinished(row);
        progress.update(counts);
      })().catch((e: unknown) => {
        fatal ??= e instanceof CliError ? e : new CliError(String(e), EXIT.unreachable);
      });
      const tracked = task.finally(() => inflight.delete(tracked));
      inflight.add(tracked);
      if (inflight.size >= concurrency) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  } catch (e) {
    await Promise.all(inflight);
    if (e instanceof CliError) throw e;
    throw usageError(`${opts.file} is not valid CSV: ${(e as Error).message}`);
  } finally {
    clearInterval(stateTimer);
    process.off('SIGINT', onSigint);
    await client.close();
    // Kept refused rows must survive even when this run refused nothing new.
    if (header && refusedFd === undefined && keptRefused.length > 0) {
      const columns = header.filter((h) => !BOOKKEEPING.has(h));
      writeAtomic(
        refusedPath,
        [csvLine([...columns, '_row', '_errors']), ...keptRefused.map(csvLine)].join(''),
      );
    }
    if (refusedFd !== undefined) closeSync(refusedFd);
    saveState(watermark);
  }
  if (!header) throw usageError(`${opts.file} is empty; it needs a header row`);
  progress.update(counts, true);

  const complete = !fatal && !interrupted;
  if (complete) {
    rmSync(statePath, { force: true });
    if (counts.refused === 0) rmSync(refusedPath, { force: true });
  }
  const summary: ImportSummary = {
    file: opts.file,
    rows: counts.rows + skippedAsDone,
    accepted: counts.accepted,
    replayed: counts.replayed,
    refused: counts.refused,
    skippedAsDone,
    refusedFile: counts.refused > 0 ? refusedPath : null,
    seconds: (Date.now() - started) / 1000,
    interrupted,
  };
  if (fatal) throw Object.assign(fatal, { summary });
  return { summary, exitCode: interrupted ? EXIT.interrupted : counts.refused > 0 ? EXIT.refused : EXIT.ok };
}
