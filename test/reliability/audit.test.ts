/**
 * The reliability audit must be able to fail: a ledger written through the real store, then
 * broken in each way the harness hunts for, is reported with the right kind of violation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprintSpec } from '../../src/domain/fingerprint.js';
import type { CallbackSpec } from '../../src/domain/types.js';
import { openSqliteStore } from '../../src/ledger/index.js';
import type { Store } from '../../src/ledger/port.js';
import { type AuditInput, auditLedger, type PlatformCallback } from './chaos/lib/ledger-check.js';

const T0 = Date.parse('2030-01-01T12:00:00Z');
let dir: string;
let dbPath: string;
let store: Store;

function spec(callbackId: string): CallbackSpec {
  return {
    callbackId,
    callbackNumber: '+14155553000',
    callbackFrom: '+18005551234',
    callbackTo: '+18005551234',
    scheduledTime: new Date(T0 + 3_600_000).toISOString(),
    timeout: 30,
    routingData: { queueId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890', priority: 0 },
    mediaType: 'voice',
    customerData: { externalId: 'CUST-0000' },
  };
}

async function accept(callbackId: string, tenantId = 't1'): Promise<number> {
  const s = spec(callbackId);
  const r = await store.accept({ tenantId, spec: s, fingerprint: fingerprintSpec(s), at: T0, outbox: [] });
  return r.callback.pk;
}

async function move(pk: number, from: 'accepted' | 'pending', to: string, conversationId?: string) {
  const done = await store.transition({
    pk,
    from: [from],
    to: to as 'pending',
    reason: to === 'rejected' || to === 'cancelled' ? { code: 'X', message: 'why' } : null,
    at: T0 + 1_000,
    outbox: [],
    ...(conversationId ? { set: { conversationId } } : {}),
  });
  expect(done).not.toBeNull();
}

function conv(id: string, callbackId: string, endReason: string | null = 'completed'): PlatformCallback {
  return {
    id,
    phase: endReason ? 'ended' : 'waiting',
    endReason,
    data: { callbackId, callbackdTenant: 't1' },
  };
}

/** A healthy ledger: one completed callback with its platform callback, one rejected before any. */
async function healthy(): Promise<Pick<AuditInput, 'platform' | 'answered201'>> {
  const a = await accept('cb-a');
  await move(a, 'accepted', 'pending', 'conv-a');
  await move(a, 'pending', 'completed');
  const b = await accept('cb-b');
  await move(b, 'accepted', 'rejected');
  return { platform: [conv('conv-a', 'cb-a')], answered201: ['cb-a', 'cb-b'] };
}

function audit(input: Pick<AuditInput, 'platform' | 'answered201'> & Partial<AuditInput>) {
  // The store holds its own connection; the audit opens the file read-only beside it.
  return auditLedger({ dbPath, tenant: 't1', requireDrained: true, ...input });
}

const kinds = (r: ReturnType<typeof audit>) => r.violations.map((v) => v.kind);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callbackd-audit-'));
  dbPath = join(dir, 'ledger.db');
  store = openSqliteStore(dbPath);
  await store.migrate();
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reliability audit', () => {
  it('finds nothing wrong with a consistent ledger and platform', async () => {
    const r = audit(await healthy());
    expect(r.violations).toEqual([]);
    expect(r.counts).toMatchObject({
      ledgerCallbacks: 2,
      withOnePlatformCallback: 1,
      withNoPlatformCallback: 1,
      byStatus: { completed: 1, rejected: 1 },
    });
  });

  it('reports a second platform callback for one callbackId as a duplicate', async () => {
    const input = await healthy();
    const r = audit({ ...input, platform: [...input.platform, conv('conv-a2', 'cb-a')] });
    expect(kinds(r)).toContain('duplicate');
  });

  it('reports a 201 whose callbackId is not in the ledger as lost', async () => {
    const input = await healthy();
    expect(kinds(audit({ ...input, answered201: [...input.answered201, 'cb-never'] }))).toEqual(['lost']);
  });

  it('reports a callbackId every answer refused that the ledger holds anyway', async () => {
    const input = await healthy();
    expect(kinds(audit({ ...input, neverAccepted: ['cb-b', 'cb-z'] }))).toEqual(['accepted-after-refusal']);
  });

  it('reports a platform callback the ledger does not know as an orphan', async () => {
    const input = await healthy();
    expect(kinds(audit({ ...input, platform: [...input.platform, conv('conv-x', 'cb-x')] }))).toEqual([
      'orphan',
    ]);
  });

  it('reports a final state without a platform callback or a reason as missing', async () => {
    const c = await accept('cb-c');
    await move(c, 'accepted', 'pending', 'conv-c');
    await move(c, 'pending', 'expired');
    expect(kinds(audit({ platform: [], answered201: ['cb-c'] }))).toContain('missing');
  });

  it('reports a ledger conversationId that is not the platform callback carrying the id', async () => {
    const input = await healthy();
    const r = audit({ ...input, platform: [conv('conv-other', 'cb-a')] });
    expect(kinds(r)).toEqual(['unlinked']);
  });

  it('reports open callbacks and live platform callbacks after a drain', async () => {
    const d = await accept('cb-d');
    await move(d, 'accepted', 'pending', 'conv-d');
    const r = audit({ platform: [conv('conv-d', 'cb-d', null)], answered201: ['cb-d'] });
    expect(kinds(r).sort()).toEqual(['not-drained', 'platform-live']);
    expect(
      audit({ platform: [conv('conv-d', 'cb-d', null)], answered201: ['cb-d'], requireDrained: false })
        .violations,
    ).toEqual([]);
  });

  it('reports a final state that disagrees with how the platform ended the call', async () => {
    const input = await healthy();
    const r = audit({ ...input, platform: [conv('conv-a', 'cb-a', 'noAnswer')] });
    expect(kinds(r)).toEqual(['state-mismatch']);
  });

  it('reports a history row after a final one, and a last row that is not the status', async () => {
    const input = await healthy();
    const raw = new Database(dbPath);
    raw
      .prepare(
        "insert into callback_history (callback_pk, status, at) select pk, 'pending', 0 from callbacks where callback_id = 'cb-a'",
      )
      .run();
    raw.close();
    const r = audit(input);
    expect(r.violations.map((v) => [v.kind, v.callbackId])).toEqual([
      ['history', 'cb-a'],
      ['history', 'cb-a'],
    ]);
    expect(r.violations[0]!.detail).toMatch(/after the final completed/);
  });

  it('reports an illegal transition in the history', async () => {
    const input = await healthy();
    const raw = new Database(dbPath);
    // cb-b went accepted → rejected; rewrite its history as accepted → completed → rejected.
    raw
      .prepare(
        "insert into callback_history (callback_pk, status, at) select pk, 'rejected', 0 from callbacks where callback_id = 'cb-b'",
      )
      .run();
    raw
      .prepare(
        "update callback_history set status = 'expired' where id = (select min(h.id) from callback_history h join callbacks c on c.pk = h.callback_pk where c.callback_id = 'cb-b' and h.status = 'rejected')",
      )
      .run();
    raw.close();
    const details = audit(input).violations.map((v) => v.detail);
    expect(details.some((d) => /illegal accepted → expired/.test(d))).toBe(true);
  });

  it('reports a final state the watcher saw change', async () => {
    const input = await healthy();
    const r = audit({ ...input, firstFinal: new Map([['cb-a', 'expired']]) });
    expect(kinds(r)).toEqual(['final-state-changed']);
  });

  it("ignores another tenant's callbacks and platform callbacks", async () => {
    const input = await healthy();
    const other = await accept('cb-a', 't2');
    await move(other, 'accepted', 'pending', 'conv-t2');
    const foreign: PlatformCallback = {
      ...conv('conv-t2', 'cb-a'),
      data: { callbackId: 'cb-a', callbackdTenant: 't2' },
    };
    expect(audit({ ...input, platform: [...input.platform, foreign] }).violations).toEqual([]);
  });
});
