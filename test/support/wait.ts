/**
 * The one condition wait of the test suites and the reliability harness (never a fixed sleep):
 * polls `probe` until it returns something other than undefined/null/false, or throws a
 * DeadlineError naming what was awaited (and the last state `describe` reports).
 */

export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

export interface WaitOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Default 10 ms. */
  intervalMs?: number;
  /** The state to report when the deadline passes. */
  describe?: () => string | Promise<string>;
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() >= deadline) {
      const state = opts.describe ? ` (last state: ${await opts.describe()})` : '';
      throw new DeadlineError(`timed out after ${timeoutMs} ms waiting for ${what}${state}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 10));
  }
}
