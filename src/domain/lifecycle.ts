/**
 * The callback lifecycle (README, "The lifecycle") as data. The ledger refuses every status
 * change `canTransition` forbids (Store.transition), so terminal states never change.
 */
import { CALLBACK_STATUSES, type CallbackStatus } from './types.js';

export { CALLBACK_STATUSES };

export const TERMINAL_STATUSES: readonly CallbackStatus[] = ['completed', 'expired', 'rejected', 'cancelled'];

/** Statuses from which a callback may still be rescheduled (PATCH) or cancelled (DELETE). */
export const EDITABLE_STATUSES: readonly CallbackStatus[] = ['accepted', 'pending'];

/**
 * Allowed transitions. `pending → accepted` is the capacity rejection with retries left
 * (nextAttemptAt = now + uniform(15, 30) minutes).
 */
export const TRANSITIONS: Readonly<Record<CallbackStatus, readonly CallbackStatus[]>> = {
  accepted: ['pending', 'rejected', 'cancelled'],
  pending: ['completed', 'expired', 'rejected', 'cancelled', 'accepted'],
  completed: [],
  expired: [],
  rejected: [],
  cancelled: [],
};

/** Default CRM status per state; config `crm.statusMap` may override each. */
export const DEFAULT_CRM_STATUS: Readonly<Record<CallbackStatus, string>> = {
  accepted: 'Callback Requested',
  pending: 'Scheduled',
  completed: 'Completed',
  expired: 'Missed',
  rejected: 'Failed',
  cancelled: 'Cancelled',
};

export function isCallbackStatus(value: unknown): value is CallbackStatus {
  return typeof value === 'string' && (CALLBACK_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: CallbackStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function isEditable(status: CallbackStatus): boolean {
  return EDITABLE_STATUSES.includes(status);
}

export function canTransition(from: CallbackStatus, to: CallbackStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The CRM status for a state, honouring a (partial) configured map. */
export function crmStatusFor(
  status: CallbackStatus,
  statusMap?: Partial<Record<CallbackStatus, string>> | null,
): string {
  return statusMap?.[status] ?? DEFAULT_CRM_STATUS[status];
}
