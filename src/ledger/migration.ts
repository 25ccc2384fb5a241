/**
 * A numbered schema migration. Each lives in its own file (`NNNN_name.ts`) that exports SQL, so
 * tsc ships it in dist. A landed migration never changes: its checksum is recorded when applied
 * and checked on every `migrate()`, so an edited file fails loudly instead of drifting silently.
 * Schema changes go in a new numbered file.
 */
export interface Migration {
  /** The file's name without extension, e.g. `0001_init`; applied in ascending order. */
  id: string;
  /** One SQL statement per entry, run in order inside one transaction. */
  up: readonly string[];
}
