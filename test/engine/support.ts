/** Shared helpers for the engine tests: a manual clock, a temp SQLite ledger, specs, waiting. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallbackSpec, Clock } from '../../src/domain/types.js';
import { acceptedOutbox, type EventChannel } from '../../src/ledger/events.js';
import { openSqliteStore } from '../../src/ledger/index.js';
import type { CallbackWithHistory, Store } from '../../src/ledger/port.js';

export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

export function manualClock(startMs: number): ManualClock {
  let now = startMs;
  return {
    now: () => now,
    set: (ms) => {
      now = ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

export interface TempStore {
  store: Store;
  cleanup(): Promise<void>;
}

export async function openTempStore(): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'callbackd-engine-'));
  const store = openSqliteStore(join(dir, 'ledger.db'));
  await store.migrate();
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const SUPPORT_QUEUE = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';

export function makeSpec(overrides: Partial<CallbackSpec> & { scheduledMs?: number } = {}): CallbackSpec {
  const { scheduledMs, ...rest } = overrides;
  return {
    callbackId: 'cb-test-1',
    callbackNumber: '+14155552671',
    callbackFrom: '+18005551234',
    callbackTo: '+18005551234',
    scheduledTime: new Date(scheduledMs ?? Date.UTC(2030, 0, 15, 16)).toISOString(),
    timeout: 300,
    routingData: { queueId: SUPPORT_QUEUE, priority: 0 },
    mediaType: 'voice',
    customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
    ...rest,
  };
}

export async function acceptSpec(
  store: Store,
  spec: CallbackSpec,
  at: number,
  opts: { tenantId?: string; channels?: readonly EventChannel[]; submitAt?: number } = {},
): Promise<CallbackWithHistory> {
  const tenantId = opts.tenantId ?? 'demo';
  const res = await store.accept({
    tenantId,
    spec,
    fingerprint: `fp-${spec.callbackId}-${spec.scheduledTime}`,
    at,
    outbox: acceptedOutbox(tenantId, spec, at, opts.channels),
  });
  if (res.outcome !== 'created') throw new Error(`accept ${spec.callbackId}: ${res.outcome}`);
  return res.callback;
}
