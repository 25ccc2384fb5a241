/**
 * The short versions of `npm run chaos` (the scenarios in ./chaos/, which bench/chaos/index.ts
 * runs at full size): real `callbackd serve` children from the built dist, real SQLite files, the
 * simulator in this process. One file, so they run one after
 * another on one worker (each already keeps a core busy with its serve child).
 */
import { describe, expect, it } from 'vitest';
import { BAD_INPUT_SHORT, runBadInput } from './chaos/bad-input.js';
import { CHAOS_SHORT, runChaos } from './chaos/chaos.js';
import { RESTART_SHORT, runRestart } from './chaos/restart.js';

describe('chaos (short): 200 requests, 3 SIGKILLs, cancels, platform faults and 429 storms', () => {
  it('keeps every accepted callback exactly once on the platform, loses no 201 and never changes a final state', async () => {
    const r = await runChaos(CHAOS_SHORT);
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);

    // The run did what it claims: kills that interrupted work, duplicates, faults, storms.
    expect(r.kills).toBe(3);
    expect(r.restarts).toBe(3);
    expect(r.killMoments.reduce((s, k) => s + k.createsInFlight + k.leasedJobs, 0)).toBeGreaterThan(0);
    const q = r.requests;
    expect(q.created201 + q.replayed201 + q.lateRefusals).toBe(CHAOS_SHORT.requests);
    // Only a few requests may wait out restarts past their scheduled time.
    expect(q.lateRefusals).toBeLessThanOrEqual(CHAOS_SHORT.requests / 20);
    expect(q.replayed201).toBeGreaterThanOrEqual(30);
    const creates = r.platform.counters['createCallback'] ?? {};
    expect((creates['reset'] ?? 0) + (creates['noAnswer'] ?? 0)).toBeGreaterThan(0);
    expect(r.storms).toBeGreaterThan(0);
    // Cancels right after the 201 (racing the submitter): each answered 200 and ended cancelled.
    expect(Object.keys(r.cancels)).toEqual(['200']);

    // Every callback ended: one platform callback each, or none and a final state with a reason.
    expect(r.ledger.ledgerCallbacks).toBeGreaterThanOrEqual(150);
    expect(r.perCallbackId.moreThanOne).toBe(0);
    expect(r.perCallbackId.exactlyOne + r.perCallbackId.noneWithFinalReason).toBe(r.ledger.ledgerCallbacks);
    expect(r.ledger.byStatus['accepted'] ?? 0).toBe(0);
    expect(r.ledger.byStatus['pending'] ?? 0).toBe(0);
  }, 150_000);
});

describe('restart from a ledger copied mid-run (short): one copy', () => {
  it('resumes every job from the copy: all callbacks end, each on the platform exactly once', async () => {
    const r = await runRestart(RESTART_SHORT);
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);

    // The copy was taken with work left: callbacks not yet on the platform.
    expect(r.copies).toHaveLength(1);
    expect(r.copies[0]!.byStatus['accepted'] ?? 0).toBeGreaterThan(0);

    const q = r.requests;
    expect(q.created201 + q.replayed201 + q.lateRefusals).toBe(RESTART_SHORT.requests);
    expect(r.perCallbackId.moreThanOne).toBe(0);
    expect(r.perCallbackId.exactlyOne + r.perCallbackId.noneWithFinalReason).toBe(r.ledger.ledgerCallbacks);
    expect(r.ledger.byStatus['accepted'] ?? 0).toBe(0);
    expect(r.ledger.byStatus['pending'] ?? 0).toBe(0);
  }, 120_000);
});

describe('bad input (short): 1,000 malformed and hostile requests', () => {
  it('answers every one without a 5xx and keeps answering valid requests as fast', async () => {
    const r = await runBadInput(BAD_INPUT_SHORT);
    expect(r.violations).toEqual([]);
    expect(r.serverErrors).toBe(0);
    expect(r.unanswered).toBe(0);
    expect(r.probe.failures).toBe(0);
    expect(r.probe.ratio).toBeLessThanOrEqual(BAD_INPUT_SHORT.maxSlowdown);

    // Every category was exercised, and refused as a client error.
    const total = Object.values(r.byStatus).reduce((a, b) => a + b, 0);
    expect(total).toBe(BAD_INPUT_SHORT.count);
    expect(Object.keys(r.byCategory).length).toBeGreaterThanOrEqual(12);
    for (const status of ['400', '401', '403', '404', '413', '415']) {
      expect(r.byStatus[status] ?? 0).toBeGreaterThan(0);
    }
  }, 120_000);
});
