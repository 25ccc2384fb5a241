/**
 * The end-of-run audit: reads the SQLite ledger file directly (not through callbackd's code, so a
 * bug there cannot hide itself) and the simulator's record of every platform callback, and lists
 * every broken promise of DESIGN.md §2–§3:
 *
 * - lost: a request answered 201 whose callbackId is not in the ledger;
 * - duplicate: more than one platform callback for one accepted callbackId;
 * - missing: no platform callback although the ledger does not say why (a final state with a reason);
 * - unlinked: the ledger's conversationId is not the platform callback that carries its callbackId;
 * - orphan: a platform callback whose callbackId the ledger does not hold;
 * - not drained: a non-final ledger row, or a platform callback still live, after the drain;
 * - state mismatch: the final state disagrees with how the platform callback ended;
 * - history: not starting at accepted, a transition DESIGN.md §2 does not allow, any row after a
 *   final one, or a last row that is not the current status;
 * - final state changed: a final state seen during the run (by a watcher) differs from the end.
 */
import Database from 'better-sqlite3';
import { tally } from './util.js';

export const FINAL = new Set(['completed', 'expired', 'rejected', 'cancelled']);

/** DESIGN.md §2, written out again here on purpose (the checker shares no code with the ledger). */
const ALLOWED: Record<string, readonly string[]> = {
  accepted: ['pending', 'rejected', 'cancelled'],
  pending: ['completed', 'expired', 'rejected', 'cancelled', 'accepted'],
};

/** How the simulator ended a callback → the final state callbackd must record for it. */
const EXPECTED_BY_END: Record<string, readonly string[]> = {
  completed: ['completed'],
  noAnswer: ['expired'],
  failedDtmf: ['expired'],
  busy: ['expired'],
  carrierRejected: ['rejected'],
  capacityRejected: ['rejected', 'accepted'],
  // The simulator's flow outcomes and agent-recorded ends (GENESYS.md: the flow's, not the platform's).
  timeout: ['expired'],
  voicemail: ['expired'],
  carrierFailure: ['rejected'],
  disconnectedByApi: ['cancelled', 'rejected'],
};

export interface Violation {
  kind:
    | 'lost'
    | 'accepted-after-refusal'
    | 'duplicate'
    | 'missing'
    | 'unlinked'
    | 'orphan'
    | 'not-drained'
    | 'platform-live'
    | 'state-mismatch'
    | 'history'
    | 'final-state-changed'
    | 'double-original'
    | 'server-error'
    | 'crash'
    | 'unanswered'
    | 'refused'
    | 'bad-answer'
    | 'copy-mismatch'
    | 'cancel'
    | 'latency'
    | 'budget';
  callbackId?: string;
  detail: string;
}

export interface Row {
  pk: number;
  callback_id: string;
  status: string;
  status_reason_code: string | null;
  conversation_id: string | null;
  submit_inflight_at: number | null;
}

export interface HistoryRow {
  callback_pk: number;
  status: string;
}

export interface LedgerSnapshot {
  rows: Row[];
  byStatus: Record<string, number>;
  /** Callbacks whose create request is marked in flight. */
  inFlight: number;
  /** Jobs under a lease that has not expired (held by a live or a killed worker). */
  leasedJobs: number;
}

function open(dbPath: string): Database.Database {
  // Read-only and WAL-aware: safe while a serve is writing, and never changes the file.
  return new Database(dbPath, { readonly: true, fileMustExist: true });
}

export function snapshotOf(rows: Row[], leasedJobs: number): LedgerSnapshot {
  const byStatus: Record<string, number> = {};
  let inFlight = 0;
  for (const r of rows) {
    tally(byStatus, r.status);
    if (r.submit_inflight_at !== null) inFlight++;
  }
  return { rows, byStatus, inFlight, leasedJobs };
}

/** Status counts of one tenant's callbacks (cheap; used to wait for the drain). */
export function ledgerSnapshot(dbPath: string, tenant: string): LedgerSnapshot {
  const db = open(dbPath);
  try {
    const rows = db
      .prepare(
        'select pk, callback_id, status, status_reason_code, conversation_id, submit_inflight_at from callbacks where tenant_id = ? order by pk',
      )
      .all(tenant) as Row[];
    const { leased } = db
      .prepare('select count(*) as leased from jobs where locked_until is not null and locked_until > ?')
      .get(Date.now()) as { leased: number };
    return snapshotOf(rows, leased);
  } finally {
    db.close();
  }
}

/**
 * Watches the ledger while the run goes on and remembers the first final state each callback is
 * seen in; the audit then checks nothing moved it (independently of the history rows).
 */
export class FinalStateWatcher {
  readonly firstFinal = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  samples = 0;
  errors = 0;

  constructor(
    private readonly dbPath: () => string,
    private readonly tenant: string,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    const tick = () => {
      this.sample();
      this.timer = setTimeout(tick, this.intervalMs);
      this.timer.unref();
    };
    tick();
  }

  sample(): void {
    try {
      const db = open(this.dbPath());
      try {
        const rows = db
          .prepare(
            "select callback_id, status from callbacks where tenant_id = ? and status in ('completed', 'expired', 'rejected', 'cancelled')",
          )
          .all(this.tenant) as { callback_id: string; status: string }[];
        for (const r of rows)
          if (!this.firstFinal.has(r.callback_id)) this.firstFinal.set(r.callback_id, r.status);
        this.samples++;
      } finally {
        db.close();
      }
    } catch {
      // The file may not exist yet, or be mid-recovery right after a kill: the next sample will do.
      this.errors++;
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** What the audit needs of a platform callback (the simulator's view of a conversation). */
export interface PlatformCallback {
  id: string;
  phase: string;
  /** null while it is live. */
  endReason: string | null;
  /** The create body's data: callbackId, callbackdTenant, ... */
  data: Record<string, string>;
}

export interface AuditInput {
  dbPath: string;
  tenant: string;
  /** Every platform callback (sim.control.conversations()). */
  platform: readonly PlatformCallback[];
  /** callbackIds that got at least one 201 from the API. */
  answered201: Iterable<string>;
  /** callbackIds whose every answer was a refusal: none may be in the ledger. */
  neverAccepted?: Iterable<string>;
  /** From a FinalStateWatcher. */
  firstFinal?: ReadonlyMap<string, string>;
  /** Every row must be final and every platform callback ended (after a drain). */
  requireDrained: boolean;
}

export interface AuditCounts {
  ledgerCallbacks: number;
  byStatus: Record<string, number>;
  historyRows: number;
  platformCallbacks: number;
  withOnePlatformCallback: number;
  withNoPlatformCallback: number;
  platformEndings: Record<string, number>;
  finalStatesWatched: number;
}

export interface AuditResult {
  counts: AuditCounts;
  violations: Violation[];
}

/** The audit of a SQLite ledger file. */
export function auditLedger(input: AuditInput): AuditResult {
  const db = open(input.dbPath);
  let rows: Row[];
  let history: HistoryRow[];
  try {
    rows = db
      .prepare(
        'select pk, callback_id, status, status_reason_code, conversation_id, submit_inflight_at from callbacks where tenant_id = ? order by pk',
      )
      .all(input.tenant) as Row[];
    history = db
      .prepare(
        'select h.callback_pk, h.status from callback_history h join callbacks c on c.pk = h.callback_pk where c.tenant_id = ? order by h.callback_pk, h.id',
      )
      .all(input.tenant) as HistoryRow[];
  } finally {
    db.close();
  }
  return auditRows({ ...input, rows, history });
}

/** The audit of ledger rows read by any means (the SQLite file, a PostgreSQL schema). */
export function auditRows(
  input: Omit<AuditInput, 'dbPath'> & { rows: readonly Row[]; history: readonly HistoryRow[] },
): AuditResult {
  const { rows, history } = input;
  const violations: Violation[] = [];
  const byId = new Map(rows.map((r) => [r.callback_id, r]));
  const historyByPk = new Map<number, string[]>();
  for (const h of history) {
    const list = historyByPk.get(h.callback_pk);
    if (list) list.push(h.status);
    else historyByPk.set(h.callback_pk, [h.status]);
  }

  const conversations = input.platform.filter(
    (c) => (c.data['callbackdTenant'] ?? input.tenant) === input.tenant,
  );
  const platformById = new Map<string, typeof conversations>();
  const platformEndings: Record<string, number> = {};
  for (const c of conversations) {
    tally(platformEndings, c.endReason ?? 'live');
    const id = c.data['callbackId'];
    if (id === undefined) continue;
    const list = platformById.get(id);
    if (list) list.push(c);
    else platformById.set(id, [c]);
  }

  for (const id of input.answered201) {
    if (!byId.has(id))
      violations.push({ kind: 'lost', callbackId: id, detail: 'answered 201, not in the ledger' });
  }
  for (const id of input.neverAccepted ?? []) {
    if (byId.has(id)) {
      violations.push({
        kind: 'accepted-after-refusal',
        callbackId: id,
        detail: `every answer refused it, yet the ledger holds it (${byId.get(id)!.status})`,
      });
    }
  }
  for (const [id, convs] of platformById) {
    if (!byId.has(id)) {
      violations.push({
        kind: 'orphan',
        callbackId: id,
        detail: `${convs.length} platform callback(s) carry a callbackId the ledger does not hold`,
      });
    }
  }

  const byStatus: Record<string, number> = {};
  let withOne = 0;
  let withNone = 0;
  for (const r of rows) {
    tally(byStatus, r.status);
    const id = r.callback_id;
    const final = FINAL.has(r.status);
    if (input.requireDrained && !final) {
      violations.push({ kind: 'not-drained', callbackId: id, detail: `still ${r.status} after the drain` });
    }

    const convs = platformById.get(id) ?? [];
    if (convs.length > 1) {
      violations.push({
        kind: 'duplicate',
        callbackId: id,
        detail: `${convs.length} platform callbacks (${convs.map((c) => c.id).join(', ')}); ledger ${r.status}`,
      });
    } else if (convs.length === 0) {
      withNone++;
      const explained =
        (r.status === 'rejected' || r.status === 'cancelled') && r.status_reason_code !== null;
      if (final && !explained) {
        violations.push({
          kind: 'missing',
          callbackId: id,
          detail: `no platform callback, yet ledger says ${r.status} (reason ${r.status_reason_code ?? 'none'})`,
        });
      } else if (!final && input.requireDrained) {
        // Already reported as not drained; nothing more to say.
      }
    } else {
      withOne++;
      const conv = convs[0]!;
      if (r.conversation_id !== conv.id && !(r.status === 'cancelled' && r.conversation_id === null)) {
        violations.push({
          kind: 'unlinked',
          callbackId: id,
          detail: `ledger conversationId ${r.conversation_id ?? 'null'}, platform callback ${conv.id}`,
        });
      }
      if (conv.endReason === null) {
        if (input.requireDrained) {
          violations.push({
            kind: 'platform-live',
            callbackId: id,
            detail: `platform callback ${conv.id} still ${conv.phase}; ledger ${r.status}`,
          });
        }
      } else if (final) {
        const expected = EXPECTED_BY_END[conv.endReason] ?? [];
        if (!expected.includes(r.status)) {
          violations.push({
            kind: 'state-mismatch',
            callbackId: id,
            detail: `platform ended ${conv.endReason}, ledger says ${r.status}`,
          });
        }
      }
    }

    const h = historyByPk.get(r.pk) ?? [];
    if (h.length === 0) {
      violations.push({ kind: 'history', callbackId: id, detail: 'no history rows' });
      continue;
    }
    if (h[0] !== 'accepted') {
      violations.push({ kind: 'history', callbackId: id, detail: `history starts at ${h[0]}` });
    }
    for (let i = 1; i < h.length; i++) {
      const prev = h[i - 1]!;
      const next = h[i]!;
      if (FINAL.has(prev)) {
        violations.push({
          kind: 'history',
          callbackId: id,
          detail: `row ${next} after the final ${prev} (${h.join(' → ')})`,
        });
        break;
      }
      if (prev !== next && !(ALLOWED[prev] ?? []).includes(next)) {
        violations.push({
          kind: 'history',
          callbackId: id,
          detail: `illegal ${prev} → ${next} (${h.join(' → ')})`,
        });
      }
    }
    if (h[h.length - 1] !== r.status) {
      violations.push({
        kind: 'history',
        callbackId: id,
        detail: `last history row ${h[h.length - 1]}, status ${r.status}`,
      });
    }

    const seen = input.firstFinal?.get(id);
    if (seen !== undefined && seen !== r.status) {
      violations.push({
        kind: 'final-state-changed',
        callbackId: id,
        detail: `seen ${seen} during the run, ${r.status} at the end`,
      });
    }
  }

  return {
    counts: {
      ledgerCallbacks: rows.length,
      byStatus,
      historyRows: history.length,
      platformCallbacks: conversations.length,
      withOnePlatformCallback: withOne,
      withNoPlatformCallback: withNone,
      platformEndings,
      finalStatesWatched: input.firstFinal?.size ?? 0,
    },
    violations,
  };
}

/** A short human list of violations by kind, with the first few examples. */
export function describeViolations(violations: readonly Violation[], examples = 3): string[] {
  const byKind = new Map<string, Violation[]>();
  for (const v of violations) {
    const list = byKind.get(v.kind);
    if (list) list.push(v);
    else byKind.set(v.kind, [v]);
  }
  return [...byKind].map(
    ([kind, list]) =>
      `${kind}: ${list.length} — ${list
        .slice(0, examples)
        .map((v) => (v.callbackId ? `${v.callbackId}: ${v.detail}` : v.detail))
        .join('; ')}`,
  );
}
