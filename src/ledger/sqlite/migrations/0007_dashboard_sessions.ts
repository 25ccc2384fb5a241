import type { Migration } from '../../migration.js';

/**
 * Dashboard sign-in sessions: the browser holds a random token in an HttpOnly cookie; the ledger
 * keeps only its SHA-256 and the API key it was exchanged for, so revoking the key ends the session
 * (the key's tenant and scopes are read through the key on every request). Landed: never edit.
 */
export const migration: Migration = {
  id: '0007_dashboard_sessions',
  up: [
    `create table dashboard_sessions (
      hash text primary key,
      api_key_id text not null references api_keys (id),
      created_at integer not null,
      expires_at integer not null,
      ended_at integer
    )`,
    'create index dashboard_sessions_key on dashboard_sessions (api_key_id)',
  ],
};
