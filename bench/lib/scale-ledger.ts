/**
 * Bulk-loads a big SQLite ledger for the scale benchmark with direct SQL: the schema comes from
 * the real migrations (dist openStore + migrate), the rows from one prepared insert in large
 * transactions. Setup only, so it loads with synchronous = OFF; the ledger is then checkpointed
 * and reopened by callbackd with its own pragmas.
 *
 * Every tenth row is open (non-terminal): pending with a conversation, due tomorrow or later,
 * read by the tracker a minute ago — except `stale`, spread over the range, whose last read is
 * hours old so a sweep reads them on the platform. The rest are terminal, scheduled in the past.
 */
import Database from 'better-sqlite3';
import { openStore } from '../../dist/ledger/index.js';
import { SUPPORT_QUEUE_ID } from '../../dist/simulator/index.js';

const BILLING_QUEUE_ID = 'b2c3d4e5-f6a7-8901-bcde-f12345678901';
const TERMINAL = ['completed', 'completed', 'completed', 'expired', 'rejected', 'cancelled'] as const;
const HOUR = 3_600_000;

export interface LedgerShape {
  total: number;
  /** One in `openEvery` rows is open (10 → 10% non-terminal). */
  openEvery: number;
  /** Conversation ids (on a running simulator) for the open rows a sweep should find stale. */
  staleConversationIds: readonly string[];
  nowMs: number;
}

export interface LoadedLedger {
  rows: number;
  open: number;
  stale: number;
  maxPk: number;
  lastPendingPk: number;
  seconds: number;
  fileMb: number;
}

function specJson(i: number, scheduledMs: number, queueId: string): string {
  return JSON.stringify({
    callbackId: `bench-s-${i}`,
    callbackNumber: `+1415558${String(i % 10_000).padStart(4, '0')}`,
    callbackFrom: '+18005551234',
    callbackTo: '+18005551234',
    scheduledTime: new Date(scheduledMs).toISOString(),
    timeout: 300,
    routingData: { queueId, priority: 0, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
    mediaType: 'voice',
    customerData: { externalId: `CRM-S${i}`, firstName: 'Bench', lastName: `Customer ${i}` },
  });
}

export async function buildLedger(file: string, shape: LedgerShape): Promise<LoadedLedger> {
  const t0 = performance.now();
  const store = openStore(file);
  await store.migrate();
  await store.close();

  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  db.exec(`insert or ignore into tenants (id, created_at) values ('demo', ${shape.nowMs})`);
  const insert = db.prepare(`insert into callbacks (
      pk, tenant_id, callback_id, status, status_reason_code, status_reason_message, spec, fingerprint,
      queue_id, scheduled_at, conversation_id, attempts, next_attempt_at, submit_inflight_at,
      last_checked_at, last_changed_at, created_at, updated_at)
    values (?, 'demo', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, null, null, ?, ?, ?, ?)`);
  const openCount = Math.floor(shape.total / shape.openEvery);
  // Stale rows spread evenly over the open ones.
  const staleEvery = shape.staleConversationIds.length
    ? Math.max(1, Math.floor(openCount / shape.staleConversationIds.length))
    : Number.POSITIVE_INFINITY;
  const fp = 'f'.repeat(64);
  let open = 0;
  let stale = 0;
  let lastPendingPk = 0;
  const chunk = 50_000;
  for (let from = 1; from <= shape.total; from += chunk) {
    db.transaction(() => {
      for (let pk = from; pk < Math.min(shape.total + 1, from + chunk); pk++) {
        const isOpen = pk % shape.openEvery === 0;
        const queueId = pk % 50 === 7 ? BILLING_QUEUE_ID : SUPPORT_QUEUE_ID;
        const createdAt = shape.nowMs - 30 * 24 * HOUR + Math.floor((pk / shape.total) * 29 * 24 * HOUR);
        if (isOpen) {
          const staleId = open % staleEvery === 0 ? shape.staleConversationIds[stale] : undefined;
          const scheduled = shape.nowMs + 24 * HOUR + (pk % 1000) * 60_000;
          const checked = staleId ? shape.nowMs - 7 * HOUR : shape.nowMs - 60_000;
          insert.run(
            pk,
            `bench-s-${pk}`,
            'pending',
            null,
            null,
            specJson(pk, scheduled, queueId),
            fp,
            queueId,
            scheduled,
            staleId ?? `00000000-0000-4000-8000-${String(pk).padStart(12, '0')}`,
            checked,
            createdAt,
            createdAt,
            createdAt,
          );
          if (staleId) stale++;
          open++;
          lastPendingPk = pk;
        } else {
          const status = TERMINAL[pk % TERMINAL.length]!;
          const scheduled = createdAt + HOUR;
          const reason = status === 'completed' ? null : 'NO_ANSWER';
          insert.run(
            pk,
            `bench-s-${pk}`,
            status,
            reason,
            reason ? 'the customer did not answer before the timeout' : null,
            specJson(pk, scheduled, queueId),
            fp,
            queueId,
            scheduled,
            `00000000-0000-4000-8000-${String(pk).padStart(12, '0')}`,
            scheduled + 600_000,
            scheduled + 600_000,
            createdAt,
            scheduled + 600_000,
          );
        }
      }
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pages = Number(db.pragma('page_count', { simple: true }));
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.close();
  return {
    rows: shape.total,
    open,
    stale,
    maxPk: shape.total,
    lastPendingPk,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    fileMb: Math.round((pages * pageSize) / 1_048_576),
  };
}
