/**
 * What the cancel and reschedule use cases answer: the callback after the edit, or a domain
 * refusal (`not_found | invalid_state | invalid | unconfirmed | unavailable`) with violations
 * carrying stable codes. No HTTP here: src/api maps the refusal to a status (api/edit-answer.ts),
 * the CLI to an exit code.
 */
import { ERROR_CODES } from '../domain/errors.js';
import type { Violation } from '../domain/types.js';
import type { CallbackRecord, CallbackWithHistory, Store } from '../ledger/port.js';

export type EditOutcome =
  | {
      ok: true;
      callback: CallbackWithHistory;
      /** False when the edit had already been made (a repeated cancel): answer the same resource. */
      changed: boolean;
    }
  | {
      ok: false;
      refusal: EditRefusal;
      errors: Violation[];
      callback?: CallbackWithHistory;
    };

/**
 * Why an edit was not made: `invalid` new values, `not_found` (or another tenant's), `invalid_state`
 * (the status does not allow it), `unconfirmed` (the platform did not confirm; repeat it),
 * `unavailable` (the customer's trusted record could not be checked; repeat it later).
 */
export type EditRefusal =
  | 'invalid'
  | 'not_found'
  | 'invalid_state'
  | 'unconfirmed'
  | 'unavailable'
  /** A reschedule into a slot at capacity (SLOT_FULL). */
  | 'slot_full';

/** The platform did not confirm a cancel or reschedule; the edit was not made and may be repeated. */
export const PLATFORM_UNAVAILABLE = ERROR_CODES.PLATFORM_UNAVAILABLE;

export function notFound(callbackId: string): EditOutcome {
  return {
    ok: false,
    refusal: 'not_found',
    errors: [
      {
        code: ERROR_CODES.CALLBACK_NOT_FOUND,
        field: 'callbackId',
        message: `no callback "${callbackId}" for this tenant; list callbacks with GET /api/v2/routing/callbacks`,
      },
    ],
  };
}

export function notModifiable(
  callback: CallbackWithHistory,
  action: 'cancelled' | 'rescheduled',
  detail?: string,
): EditOutcome {
  return {
    ok: false,
    refusal: 'invalid_state',
    callback,
    errors: [
      {
        code: ERROR_CODES.INVALID_STATE,
        field: 'status',
        message: `callback "${callback.callbackId}" is ${callback.status}${detail ? ` (${detail})` : ''}; only accepted or pending callbacks can be ${action}${
          action === 'rescheduled' ? ': schedule a new callback instead' : ''
        }`,
      },
    ],
  };
}

export function platformUnavailable(action: string, detail: string): EditOutcome {
  return {
    ok: false,
    refusal: 'unconfirmed',
    errors: [
      {
        code: PLATFORM_UNAVAILABLE,
        field: 'callbackId',
        message: `the platform did not confirm the ${action} (${detail}); nothing was changed, repeat the request (it is safe to repeat)`,
      },
    ],
  };
}

/** The row as it stands after an edit, with its history (what the API answers with). */
export async function reread(store: Store, rec: CallbackRecord): Promise<CallbackWithHistory> {
  const row = await store.getByPk(rec.pk);
  if (!row) throw new Error(`callback pk ${rec.pk} vanished from the ledger`);
  return row;
}
