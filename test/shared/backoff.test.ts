import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, backoffMs } from '../../src/shared/backoff.js';

const o = { baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('the one backoff', () => {
  it('doubles per retry from the base and never exceeds the cap, even for huge retry counts', () => {
    expect(backoffCeilingMs(1, o)).toBe(1000);
    expect(backoffCeilingMs(3, o)).toBe(4000);
    expect(backoffCeilingMs(30, o)).toBe(60_000);
    expect(backoffCeilingMs(5_000, o)).toBe(60_000);
    expect(backoffCeilingMs(0, o)).toBe(1000);
  });

  it('full jitter spreads uniformly below the ceiling', () => {
    expect(backoffMs(3, o, () => 0)).toBe(0);
    expect(backoffMs(3, o, () => 0.5)).toBe(2000);
    expect(backoffMs(3, o, () => 0.999999)).toBeLessThan(4000);
  });

  it('proportional jitter 0.5 stays within ±25 % of the ceiling and never exceeds the cap', () => {
    const j = { ...o, jitter: 0.5 };
    expect(backoffMs(1, j, () => 0.5)).toBe(1000);
    expect(backoffMs(3, j, () => 0.5)).toBe(4000);
    expect(backoffMs(3, j, () => 0)).toBe(3000);
    expect(backoffMs(3, j, () => 0.999999)).toBeLessThanOrEqual(5000);
    expect(backoffMs(30, j, () => 0.999999)).toBe(60_000);
  });

  it('without jitter is exactly the ceiling', () => {
    expect(backoffMs(4, { ...o, jitter: 'none' }, () => 0.1)).toBe(8000);
  });
});
