/**
 * What cancelCallback and rescheduleCallback answer: the callback after the edit, or the problem
 * the API should answer with (status + violations with stable codes), never a thrown HTTP concern.
 */
import { ERROR_CODES } from '../domain/errors.js';
import type { CallbackStatus, Violation } from '../domain/types.js';
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
      /** 400 invalid new values, 404 unknown callback, 409 status does not allow it, 503 platform did not confirm. */
      httpStatus: 400 | 404 | 409 | 503;
      errors: Violation[];
      callback?: CallbackWithHistory;
    };

/** The platform did not confirm a cancel or reschedule; the edit was not made and may be repeated. */
export const PLATFORM_UNAVAILABLE = ERROR_CODES.PLATFORM_UNAVAILABLE;

export function notFound(callbackId: string): EditOutcome {
  return {
    ok: false,
    httpStatus: 404,
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
    httpStatus: 409,
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
    httpStatus: 503,
    errors: [
      {
        code: PLATFORM_UNAVAILABLE,
        field: 'callbackId',
        message: `the platform did not confirm the ${action} (${detail}); nothing was changed, repeat the request (it is safe to repeat)`,
      },
    ],
  };
}

export function isStatus(callback: { status: CallbackStatus }, ...statuses: CallbackStatus[]): boolean {
  return statuses.includes(callback.status);
}

/** The row as it stands after an edit, with its history (what the API answers with). */
export async function reread(store: Store, rec: CallbackRecord): Promise<CallbackWithHistory> {
  const row = await store.getByPk(rec.pk);
  if (!row) throw new Error(`callback pk ${rec.pk} vanished from the ledger`);
  return row;
}
