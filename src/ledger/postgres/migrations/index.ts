import type { Migration } from '../../migration.js';
import { migration as m0001 } from './0001_init.js';

/** Every PostgreSQL migration, in the order they apply. Append only. */
export const postgresMigrations: readonly Migration[] = [m0001];
