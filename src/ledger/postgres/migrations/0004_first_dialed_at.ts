import type { Migration } from '../../migration.js';

/**
 * When the platform first dialled the customer for the current attempt (the first outbound
 * customer voice leg's start, epoch ms), recorded by the tracker: the dashboard's "promise kept"
 * compares it with the promised scheduled time. Null until a dial is seen. Landed: never edit.
 */
export const migration: Migration = {
  id: '0004_first_dialed_at',
  up: ['alter table callbacks add column first_dialed_at bigint'],
};
