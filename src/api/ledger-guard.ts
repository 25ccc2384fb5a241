/**
 * Wraps the Store so any failure of the ledger surfaces as 503 LEDGER_UNAVAILABLE (with the cause
 * logged), instead of a 500 that would tell a client its request was wrong or lost.
 */
import type { Store } from '../ledger/port.js';
import { ApiError } from './problem.js';

export const LEDGER_UNAVAILABLE_MESSAGE =
  'The ledger is unavailable, so nothing was changed; retry the same request later (it is safe to repeat).';

export function guardStore(store: Store, onError: (err: unknown) => void): Store {
  const unavailable = (err: unknown): never => {
    onError(err);
    throw ApiError.one(503, 'LEDGER_UNAVAILABLE', '', LEDGER_UNAVAILABLE_MESSAGE, { 'retry-after': '5' });
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          const result = value.apply(target, args);
          return result instanceof Promise ? result.catch(unavailable) : result;
        } catch (err) {
          return unavailable(err);
        }
      };
    },
  });
}
