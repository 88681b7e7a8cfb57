import pg from 'pg';
import { errorMessage } from '../core/errors.js';
import { migrate } from './migrations.js';
import { createPool, describeDatabase, ensureDatabase, type DbSslConfig, type Pool } from './pool.js';

/**
 * labops' own database: one pool, one schema, migrated once per process. Its stores (the audit
 * log, footprints) share the pool; whoever needs them gets them from the context, not from here.
 */
export class LabDatabase {
  readonly pool: Pool;
  private migrated = false;
  private migrating: Promise<number[]> | null = null;

  constructor(
    readonly url: string,
    readonly schema: string,
    private readonly ssl?: DbSslConfig,
  ) {
    this.pool = createPool(url, ssl);
  }

  /** `"schema".name`, quoted. */
  table(name: string): string {
    return `${pg.escapeIdentifier(this.schema)}.${pg.escapeIdentifier(name)}`;
  }

  get ready(): boolean {
    return this.migrated;
  }

  /** Creates the database when missing and applies the migrations; the versions applied now. Throws while PostgreSQL is down. */
  async migrate(): Promise<number[]> {
    if (this.migrated) return [];
    this.migrating ??= (async () => {
      await ensureDatabase(this.url, this.ssl);
      const applied = await migrate(this.pool, this.schema);
      this.migrated = true;
      return applied;
    })().finally(() => (this.migrating = null));
    return await this.migrating;
  }

  /** `PostgreSQL at postgres://…` with the password hidden. */
  describe(): string {
    return describeDatabase(this.url);
  }

  /** Why a query failed, as a user reads it: unreachable or failing. */
  describeFailure(err: unknown): string {
    return `${this.describe()} is ${isConnectionFailure(err) ? 'unreachable' : 'failing'}: ${errorMessage(err)}`;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

export function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|57P0[13]|08\d\d\d)$/.test(code) || /timeout|terminated/i.test(errorMessage(err));
}
