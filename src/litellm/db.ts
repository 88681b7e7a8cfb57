import type pg from 'pg';
import { formatDuration } from '../core/duration.js';
import { failedError, unavailableError, type UserError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { createPool, type DbSslConfig } from '../db/pool.js';

/** A model row of `"LiteLLM_ProxyModelTable"` as stored: string params are still encrypted. */
export interface DbModel {
  modelId: string;
  modelName: string;
  litellmParams: Record<string, unknown>;
  /** a JSONB object (normal), a JSONB string holding JSON (some writers), or neither (`litellmParams` is then `{}`) */
  paramsStorage: 'object' | 'json-string' | 'unreadable';
  modelInfo: Record<string, unknown> | null;
  /** undefined where the column does not exist (schemas before 2026) */
  blocked: boolean | undefined;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
}

export interface AdminUser {
  userId: string;
  exists: boolean;
  role: string | null;
  isProxyAdmin: boolean;
}

export const LITELLM_TABLES = ['LiteLLM_ProxyModelTable', 'LiteLLM_UserTable', 'LiteLLM_Config', 'LiteLLM_VerificationToken', 'LiteLLM_AuditLog'] as const;
export type LiteLLMTable = (typeof LITELLM_TABLES)[number];

export interface LiteLLMColumns {
  /** the columns of each table that exists, in table order */
  tables: Partial<Record<LiteLLMTable, string[]>>;
  missingTables: LiteLLMTable[];
  /** columns that only newer schemas have */
  optional: { proxyModelBlocked: boolean; userPolicies: boolean };
}

export interface LiteLLMDbOptions {
  /** per query, connecting included (default 5 s) */
  timeoutMs?: number;
  /** TLS (litellm.databaseSsl); the URL's own sslmode/sslrootcert win */
  ssl?: DbSslConfig;
}

/** LiteLLM's default admin user (`LITELLM_PROXY_ADMIN_NAME`), unless `PROXY_ADMIN_ID` is set. */
export const DEFAULT_ADMIN_USER_ID = 'default_user_id';

/**
 * Read-only access to LiteLLM's PostgreSQL (the tables are in the default schema of `url`). Every
 * query gives up after the timeout or on the caller's signal; a database that is down or refuses
 * the login is an `unavailable` UserError that names it without its password.
 */
export class LiteLLMDb {
  readonly name: string;
  private readonly pool: pg.Pool;
  private readonly timeoutMs: number;

  constructor(url: string, opts: LiteLLMDbOptions = {}) {
    this.name = `LiteLLM's database (${describeUrl(url)})`;
    this.pool = createPool(url, opts.ssl);
    this.timeoutMs = opts.timeoutMs ?? 5_000;
  }

  async ping(signal?: AbortSignal): Promise<{ latencyMs: number }> {
    const t0 = performance.now();
    await this.query('SELECT 1', [], signal);
    return { latencyMs: performance.now() - t0 };
  }

  async models(signal?: AbortSignal): Promise<DbModel[]> {
    // "blocked" exists only in 2026 schemas: to_jsonb(row) -> 'blocked' is NULL where it is missing
    const rows = await this.query<ModelRow>(
      `SELECT m.model_id, m.model_name, m.litellm_params, m.model_info, to_jsonb(m) -> 'blocked' AS blocked,
              m.created_at, m.created_by, m.updated_at, m.updated_by
         FROM "LiteLLM_ProxyModelTable" m
        ORDER BY m.model_name, m.model_id`,
      [],
      signal,
    );
    return rows.map((row) => {
      const { params, storage } = readParams(row.litellm_params);
      return {
        modelId: row.model_id,
        modelName: row.model_name,
        litellmParams: params,
        paramsStorage: storage,
        modelInfo: isRecord(row.model_info) ? row.model_info : null,
        blocked: typeof row.blocked === 'boolean' ? row.blocked : undefined,
        createdAt: row.created_at,
        createdBy: row.created_by,
        updatedAt: row.updated_at,
        updatedBy: row.updated_by,
      };
    });
  }

  async adminUser(userId: string = DEFAULT_ADMIN_USER_ID, signal?: AbortSignal): Promise<AdminUser> {
    const rows = await this.query<{ user_id: string; user_role: string | null }>(
      `SELECT user_id, user_role FROM "LiteLLM_UserTable" WHERE user_id = $1`,
      [userId],
      signal,
    );
    const role = rows[0]?.user_role ?? null;
    return { userId, exists: rows.length > 0, role, isProxyAdmin: role === 'proxy_admin' };
  }

  /** `"LiteLLM_Config"`: param_name → param_value (`environment_variables` values stay encrypted). */
  async configRows(signal?: AbortSignal): Promise<Record<string, unknown>> {
    const rows = await this.query<{ param_name: string; param_value: unknown }>(
      `SELECT param_name, param_value FROM "LiteLLM_Config" ORDER BY param_name`,
      [],
      signal,
    );
    return Object.fromEntries(rows.map((r) => [r.param_name, r.param_value]));
  }

  /** Which LiteLLM tables and columns exist, as the search path resolves them. */
  async columns(signal?: AbortSignal): Promise<LiteLLMColumns> {
    const rows = await this.query<{ table_name: LiteLLMTable; column_name: string }>(
      `SELECT c.relname AS table_name, a.attname AS column_name
         FROM pg_class c
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.oid = ANY (ARRAY(SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) AS t))
        ORDER BY c.relname, a.attnum`,
      [LITELLM_TABLES],
      signal,
    );
    const tables: Partial<Record<LiteLLMTable, string[]>> = {};
    for (const { table_name, column_name } of rows) (tables[table_name] ??= []).push(column_name);
    return {
      tables,
      missingTables: LITELLM_TABLES.filter((t) => !tables[t]),
      optional: {
        proxyModelBlocked: tables.LiteLLM_ProxyModelTable?.includes('blocked') ?? false,
        userPolicies: tables.LiteLLM_UserTable?.includes('policies') ?? false,
      },
    };
  }

  /** A connection of its own (a repair's transaction); the caller releases it. */
  async client(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw this.describe(err);
    }
  }

  /** A database error as the user should see it (what happened, without a password). */
  explain(err: unknown): UserError | Error {
    return this.describe(err);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[], signal?: AbortSignal): Promise<R[]> {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let client: pg.PoolClient | undefined;
    try {
      client = await untilAborted(this.pool.connect(), abort, (late) => late.release(true));
      const result = await untilAborted(client.query<R>(sql, params), abort);
      client.release();
      client = undefined;
      return result.rows;
    } catch (err) {
      // a connection whose query we gave up on must not go back to the pool
      client?.release(true);
      signal?.throwIfAborted();
      if (timeout.aborted) throw unavailableError(`${this.name} did not answer in ${formatMs(this.timeoutMs)}`);
      throw this.describe(err);
    }
  }

  /** A UserError for what the user can act on; anything else (a bug of ours) as it is. */
  private describe(err: unknown): UserError | Error {
    const e = err as { code?: string; message?: string };
    const message = redact(e.message ?? String(err));
    switch (e.code) {
      case 'ECONNREFUSED':
        return unavailableError(`${this.name}: connection refused`, 'Is PostgreSQL running, and is the LiteLLM database URL right?');
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return unavailableError(`${this.name}: host not found`);
      case 'ECONNRESET':
        return unavailableError(`${this.name}: connection reset`);
      case '28P01':
      case '28000':
        return unavailableError(`${this.name}: login refused (${message})`, 'Check the user and password of the LiteLLM database URL.');
      case '3D000':
        return unavailableError(`${this.name}: ${message}`);
      case '42P01':
      case '42703':
        return failedError(`${this.name} does not have LiteLLM's tables as expected: ${message}`, 'Is this the database (and schema) LiteLLM uses, and is it migrated?');
      case '57014':
        return unavailableError(`${this.name} did not answer in time (${message})`);
    }
    if (e.code?.startsWith('08') || e.code?.startsWith('53') || e.code?.startsWith('57')) return unavailableError(`${this.name}: ${message}`);
    if (/timeout|terminated|Connection/i.test(message) && !e.code) return unavailableError(`${this.name}: ${message}`);
    return err instanceof Error ? err : new Error(message);
  }
}

export function openLiteLLMDb(url: string, opts: LiteLLMDbOptions = {}): LiteLLMDb {
  return new LiteLLMDb(url, opts);
}

interface ModelRow {
  model_id: string;
  model_name: string;
  litellm_params: unknown;
  model_info: unknown;
  blocked: unknown;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  updated_by: string;
}

export function readParams(raw: unknown): { params: Record<string, unknown>; storage: DbModel['paramsStorage'] } {
  if (isRecord(raw)) return { params: raw, storage: 'object' };
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (isRecord(parsed)) return { params: parsed, storage: 'json-string' };
    } catch {
      // not JSON: unreadable
    }
  }
  return { params: {}, storage: 'unreadable' };
}

/** `postgres://user@host:5432/db`: no password, no query string (which may carry one). */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'an unparsable URL';
  }
}

/** Settles with `promise`, or rejects with the signal's reason first; a late value goes to `onLate`. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, onLate?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      done = true;
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (done) onLate?.(value);
        else resolve(value);
        done = true;
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!done) reject(err);
      },
    );
  });
}

function formatMs(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : formatDuration(ms);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
