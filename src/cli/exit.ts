/**
 * Exit codes scripts can rely on (README "CLI"):
 * 0 done; 1 refused (the API or platform said no: a 4xx, refused rows, failed doctor checks);
 * 2 usage (bad arguments, bad config); 3 unreachable (no answer, a 5xx, the ledger down);
 * 130 interrupted by Ctrl-C (import: re-run to resume).
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports with one message and a specific exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
