import type { Migration } from '../../migration.js';

/**
 * Listing by status and queue together (a dashboard's "pending in queue X") searched one of the
 * two single-filter indexes and filtered the rest: hundreds of ms on a million rows when few match.
 * Landed: never edit.
 */
export const migration: Migration = {
  id: '0002_list_status_queue_index',
  up: ['create index callbacks_tenant_status_queue_pk on callbacks (tenant_id, status, queue_id, pk)'],
};
