/** The API keys aggregate (and tenants, which come into being with their first key). */
import type { Selectable } from 'kysely';
import type { EpochMs } from '../domain/types.js';
import type { Db, LedgerDialect } from './dialect.js';
import type { ApiKeyRecord } from './port.js';
import type { LedgerDatabase } from './tables.js';

export class KeysLedger {
  constructor(
    private readonly db: Db,
    private readonly dialect: LedgerDialect,
  ) {}

  async create(key: ApiKeyRecord): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('tenants')
        .values({ id: key.tenantId, created_at: key.createdAt })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      await trx
        .insertInto('api_keys')
        .values({
          id: key.id,
          tenant_id: key.tenantId,
          name: key.name,
          hash: key.hash,
          scopes: JSON.stringify(key.scopes),
          created_at: key.createdAt,
          revoked_at: key.revokedAt,
        })
        .execute();
    });
  }

  /** Revoked keys are returned too (with `revokedAt`): the caller refuses them. */
  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? this.toApiKey(row) : undefined;
  }

  async list(tenantId?: string): Promise<ApiKeyRecord[]> {
    let q = this.db.selectFrom('api_keys').selectAll();
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    return rows.map((r) => this.toApiKey(r));
  }

  async revoke(id: string, at: EpochMs): Promise<boolean> {
    const res = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  private toApiKey(r: Selectable<LedgerDatabase['api_keys']>): ApiKeyRecord {
    return {
      id: r.id,
      tenantId: r.tenant_id,
      name: r.name,
      hash: r.hash,
      scopes: this.dialect.parseJson(r.scopes) as ApiKeyRecord['scopes'],
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    };
  }
}
