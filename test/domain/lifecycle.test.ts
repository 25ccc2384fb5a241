import { describe, expect, it } from 'vitest';
import {
  CALLBACK_STATUSES,
  canTransition,
  crmStatusFor,
  DEFAULT_CRM_STATUS,
  isEditable,
  isTerminal,
  TERMINAL_STATUSES,
} from '../../src/domain/lifecycle.js';
import type { CallbackStatus } from '../../src/domain/types.js';

// The diagram of DESIGN.md §2, written out independently of lifecycle.ts.
const ALLOWED = new Set([
  'accepted→pending',
  'accepted→rejected',
  'accepted→cancelled',
  'pending→completed',
  'pending→expired',
  'pending→rejected',
  'pending→cancelled',
  'pending→accepted',
]);

describe('lifecycle transitions', () => {
  const pairs = CALLBACK_STATUSES.flatMap((from) => CALLBACK_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)('%s → %s matches DESIGN.md §2', (from, to) => {
    expect(canTransition(from, to)).toBe(ALLOWED.has(`${from}→${to}`));
  });

  it('terminal states are exactly those with no way out', () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual(['cancelled', 'completed', 'expired', 'rejected']);
    for (const s of CALLBACK_STATUSES) {
      expect(isTerminal(s)).toBe(CALLBACK_STATUSES.every((to) => !canTransition(s, to)));
    }
  });

  it('only accepted and pending callbacks can be edited', () => {
    expect(CALLBACK_STATUSES.filter(isEditable)).toEqual(['accepted', 'pending']);
  });
});

describe('CRM status', () => {
  it('defaults to the DESIGN.md names', () => {
    expect(DEFAULT_CRM_STATUS).toEqual({
      accepted: 'Callback Requested',
      pending: 'Scheduled',
      completed: 'Completed',
      expired: 'Missed',
      rejected: 'Failed',
      cancelled: 'Cancelled',
    });
  });

  it('honours a partial configured map and falls back per state', () => {
    const map: Partial<Record<CallbackStatus, string>> = { expired: 'No Answer' };
    expect(crmStatusFor('expired', map)).toBe('No Answer');
    expect(crmStatusFor('completed', map)).toBe('Completed');
    expect(crmStatusFor('pending', undefined)).toBe('Scheduled');
  });
});
