import type { Migration } from '../../migration.js';
import { migration as m0001 } from './0001_init.js';

/** Every SQLite migration, in the order they apply. Append only. */
export const sqliteMigrations: readonly Migration[] = [m0001];
