/**
 * Booking in the ledger (issue 14): the guarded checks an accept runs in its own transaction
 * (slot capacity, slot holds, one active callback per customer), slot holds, and the per-slot
 * usage a slots query reads. Counting is exact under concurrency because each check runs under
 * a lock on the slot / customer it counts (PostgreSQL advisory transaction locks; SQLite's
 * BEGIN IMMEDIATE already makes every transaction the only writer) and in the transaction that
 * inserts the callback, so no two accepts can both see the last free unit.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { EpochMs } from '../domain/types.js';
import type { LedgerDatabase } from './tables.js';

type Db = Kysely<LedgerDatabase>;

/** Open callbacks, written as the partial indexes' literal predicate so both planners use them. */
const isOpen = sql<boolean>`status in ('accepted', 'pending')`;

/** What the accept of one callback claims. */
export interface BookingClaim {
  /** `ext:<externalId>` or `num:<callbackNumber>`: stored on every callback. */
  customerKey: string;
  /** `one`: refuse when the customer has an open callback on the queue. */
  perCustomer: 'one' | 'many';
  slot?: SlotClaim;
}

export interface SlotClaim {
  queueId: string;
  startMs: EpochMs;
  endMs: EpochMs;
  /** Units in the slot; undefined = no limit (a hold may still be consumed). */
  capacity?: number;
  holdId?: string;
}

export type BookingRefusal =
  | { kind: 'slotFull'; startMs: EpochMs; endMs: EpochMs; capacity: number }
  | { kind: 'holdNotFound'; holdId: string; used: boolean }
  | { kind: 'holdExpired'; holdId: string; expiresAt: EpochMs }
  | { kind: 'holdOtherSlot'; holdId: string; startMs: EpochMs; endMs: EpochMs }
  | { kind: 'activeExists'; callbackId: string };

export interface HoldInput {
  tenantId: string;
  queueId: string;
  startMs: EpochMs;
  endMs: EpochMs;
  capacity?: number;
  at: EpochMs;
  expiresAt: EpochMs;
}

export type HoldOutcome =
  | { outcome: 'held'; holdId: string; expiresAt: EpochMs }
  | { outcome: 'slotFull'; capacity: number };

/** Taken units per exact instant: open callbacks by scheduled time, live holds by slot start. */
export interface SlotUsage {
  callbacks: { at: EpochMs; count: number }[];
  holds: { at: EpochMs; count: number }[];
}

/** Serialize transactions on named keys until commit (PostgreSQL); a no-op where writers are already one. */
export type LockKeys = (trx: Db, keys: readonly string[]) => Promise<void>;

export const postgresLockKeys: LockKeys = async (trx, keys) => {
  // One order for everyone, so two transactions taking the same keys never deadlock.
  for (const key of [...new Set(keys)].sort()) {
    await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
  }
};

export const customerKeyOf = (externalId: string | undefined, callbackNumber: string): string =>
  externalId ? `ext:${externalId}` : `num:${callbackNumber}`;

const slotKey = (queueId: string, startMs: EpochMs) => `slot|${queueId}|${startMs}`;
const customerLock = (tenantId: string, queueId: string, key: string) =>
  `customer|${tenantId}|${queueId}|${key}`;

export function bookingLockKeys(tenantId: string, queueId: string, claim: BookingClaim): string[] {
  const keys: string[] = [];
  if (claim.perCustomer === 'one') keys.push(customerLock(tenantId, queueId, claim.customerKey));
  if (claim.slot) keys.push(slotKey(claim.slot.queueId, claim.slot.startMs));
  return keys;
}

async function takenInSlot(
  trx: Db,
  queueId: string,
  startMs: EpochMs,
  endMs: EpochMs,
  at: EpochMs,
  exceptHoldId?: string,
): Promise<number> {
  const callbacks = await trx
    .selectFrom('callbacks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(isOpen)
    .where('queue_id', '=', queueId)
    .where('scheduled_at', '>=', startMs)
    .where('scheduled_at', '<', endMs)
    .executeTakeFirstOrThrow();
  let holds = trx
    .selectFrom('slot_holds')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('callback_pk', 'is', null)
    .where('queue_id', '=', queueId)
    .where('slot_start', '=', startMs)
    .where('expires_at', '>', at);
  if (exceptHoldId !== undefined) holds = holds.where('id', '!=', exceptHoldId);
  const held = await holds.executeTakeFirstOrThrow();
  return Number(callbacks.n) + Number(held.n);
}

/** The checks of one accept; run under `bookingLockKeys` in the accept's transaction. */
export async function checkBooking(
  trx: Db,
  tenantId: string,
  queueId: string,
  claim: BookingClaim,
  at: EpochMs,
): Promise<BookingRefusal | undefined> {
  if (claim.perCustomer === 'one') {
    const active = await trx
      .selectFrom('callbacks')
      .select('callback_id')
      .where(isOpen)
      .where('tenant_id', '=', tenantId)
      .where('queue_id', '=', queueId)
      .where('customer_key', '=', claim.customerKey)
      .orderBy('pk')
      .executeTakeFirst();
    if (active) return { kind: 'activeExists', callbackId: active.callback_id };
  }
  const slot = claim.slot;
  if (!slot) return undefined;
  if (slot.holdId !== undefined) {
    const hold = await trx
      .selectFrom('slot_holds')
      .selectAll()
      .where('id', '=', slot.holdId)
      .where('tenant_id', '=', tenantId)
      .where('queue_id', '=', slot.queueId)
      .executeTakeFirst();
    if (!hold || hold.callback_pk !== null)
      return { kind: 'holdNotFound', holdId: slot.holdId, used: hold !== undefined };
    if (Number(hold.expires_at) <= at)
      return { kind: 'holdExpired', holdId: slot.holdId, expiresAt: Number(hold.expires_at) };
    if (Number(hold.slot_start) !== slot.startMs) {
      return {
        kind: 'holdOtherSlot',
        holdId: slot.holdId,
        startMs: Number(hold.slot_start),
        endMs: Number(hold.slot_end),
      };
    }
  }
  if (slot.capacity === undefined) return undefined;
  const taken = await takenInSlot(trx, slot.queueId, slot.startMs, slot.endMs, at, slot.holdId);
  if (taken >= slot.capacity)
    return { kind: 'slotFull', startMs: slot.startMs, endMs: slot.endMs, capacity: slot.capacity };
  return undefined;
}

/** Marks the claim's hold as used by the callback just inserted (same transaction). */
export async function consumeHold(
  trx: Db,
  claim: BookingClaim,
  callbackPk: number,
  at: EpochMs,
): Promise<void> {
  if (claim.slot?.holdId === undefined) return;
  await trx
    .updateTable('slot_holds')
    .set({ callback_pk: callbackPk, consumed_at: at })
    .where('id', '=', claim.slot.holdId)
    .where('callback_pk', 'is', null)
    .execute();
}

/** Reserve one unit of a slot, counted like an accept under the slot's lock. */
export function holdSlot(db: Db, lockKeys: LockKeys, input: HoldInput): Promise<HoldOutcome> {
  return db.transaction().execute(async (trx) => {
    await lockKeys(trx, [slotKey(input.queueId, input.startMs)]);
    if (input.capacity !== undefined) {
      const taken = await takenInSlot(trx, input.queueId, input.startMs, input.endMs, input.at);
      if (taken >= input.capacity) return { outcome: 'slotFull', capacity: input.capacity };
    }
    const holdId = `hold-${randomUUID()}`;
    await trx
      .insertInto('slot_holds')
      .values({
        id: holdId,
        tenant_id: input.tenantId,
        queue_id: input.queueId,
        slot_start: input.startMs,
        slot_end: input.endMs,
        created_at: input.at,
        expires_at: input.expiresAt,
        callback_pk: null,
        consumed_at: null,
      })
      .execute();
    return { outcome: 'held', holdId, expiresAt: input.expiresAt };
  });
}

/** What is taken in [fromMs, toMs) of a queue, grouped by instant (bookings cluster on slot starts). */
export async function slotUsage(
  db: Db,
  queueId: string,
  fromMs: EpochMs,
  toMs: EpochMs,
  at: EpochMs,
): Promise<SlotUsage> {
  const callbacks = await db
    .selectFrom('callbacks')
    .select(['scheduled_at as at', (eb) => eb.fn.countAll<number>().as('count')])
    .where(isOpen)
    .where('queue_id', '=', queueId)
    .where('scheduled_at', '>=', fromMs)
    .where('scheduled_at', '<', toMs)
    .groupBy('scheduled_at')
    .execute();
  const holds = await db
    .selectFrom('slot_holds')
    .select(['slot_start as at', (eb) => eb.fn.countAll<number>().as('count')])
    .where('callback_pk', 'is', null)
    .where('queue_id', '=', queueId)
    .where('slot_start', '>=', fromMs)
    .where('slot_start', '<', toMs)
    .where('expires_at', '>', at)
    .groupBy('slot_start')
    .execute();
  const norm = (rows: { at: number; count: number }[]) =>
    rows.map((r) => ({ at: Number(r.at), count: Number(r.count) }));
  return { callbacks: norm(callbacks), holds: norm(holds) };
}
