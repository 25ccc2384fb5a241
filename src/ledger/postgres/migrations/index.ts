import type { Migration } from '../../migration.js';
import { migration as m0001 } from './0001_init.js';
import { migration as m0002 } from './0002_list_status_queue_index.js';
import { migration as m0004 } from './0004_first_dialed_at.js';
import { migration as m0005 } from './0005_booking.js';
import { migration as m0006 } from './0006_cluster.js';
import { migration as m0007 } from './0007_dashboard_sessions.js';

/** Every PostgreSQL migration, in the order they apply. Append only. */
export const postgresMigrations: readonly Migration[] = [m0001, m0002, m0004, m0005, m0006, m0007];
