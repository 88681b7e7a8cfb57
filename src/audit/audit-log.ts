import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { unavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { errorMessage } from '../core/errors.js';
import { ensureRedis, key } from '../redis/connection.js';
import { createPool, describeDatabase, ensureDatabase } from '../db/pool.js';
import { migrate } from '../db/migrations.js';

export interface AuditEntry {
  kind: 'command' | 'job' | 'button' | 'system';
  actorId: string;
  actorName: string;
  role: string | null;
  adapter: string;
  channel: string | null;
  command: string;
  args: Record<string, unknown>;
  host: string | null;
  jobId: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: string;
  error: string | null;
  /** for repairs: the rows before and after */
  detail?: unknown;
}

export interface AuditRow extends AuditEntry {
  id: string;
}

export interface AuditHealth {
  ok: boolean;
  /** rows waiting in Redis (or memory) for PostgreSQL */
  pending: number;
  reason: string | null;
}

const FLUSH_BATCH = 100;
const MEMORY_LIMIT = 10_000;

/**
 * The audit log in PostgreSQL. `record` never throws and never loses a row: while PostgreSQL is
 * down rows wait in a Redis list (or, with Redis down too, in memory) and are written, once each,
 * when it is back.
 */
export class AuditLog {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly pendingKey: string;
  private readonly lockKey: string;
  private migrated = false;
  private lastError: string | null = null;
  private readonly memory: AuditRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly opts: { databaseUrl: string; schema: string; redis: Redis; prefix: string; logger: Logger; flushIntervalMs?: number },
  ) {
    this.pool = createPool(opts.databaseUrl);
    this.table = `${pg.escapeIdentifier(opts.schema)}.audit_log`;
    this.pendingKey = key(opts.prefix, 'audit', 'pending');
    this.lockKey = key(opts.prefix, 'audit', 'flush-lock');
  }

  /** Creates the database and runs migrations; when PostgreSQL is down it keeps trying in the background. */
  async start(): Promise<void> {
    await this.tryMigrate();
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs ?? 5_000);
    this.timer.unref();
  }

  get database(): pg.Pool {
    return this.pool;
  }

  get schema(): string {
    return this.opts.schema;
  }

  private async tryMigrate(): Promise<boolean> {
    if (this.migrated) return true;
    try {
      await ensureDatabase(this.opts.databaseUrl);
      const applied = await migrate(this.pool, this.opts.schema);
      if (applied.length > 0) this.opts.logger.info({ applied }, 'audit migrations applied');
      this.migrated = true;
      this.lastError = null;
      return true;
    } catch (err) {
      this.noteDown(err);
      return false;
    }
  }

  private noteDown(err: unknown): void {
    const reason = `${describeDatabase(this.opts.databaseUrl)} is ${isConnectionFailure(err) ? 'unreachable' : 'failing'}: ${errorMessage(err)}`;
    if (reason !== this.lastError) this.opts.logger.warn({ reason }, 'audit store degraded; rows wait in Redis');
    this.lastError = reason;
  }

  async record(entry: AuditEntry): Promise<void> {
    const row: AuditRow = { id: randomUUID(), ...entry };
    // rows already waiting go first, to keep the order; a Redis that is down or still connecting has none we can see
    if (this.migrated && (await this.pendingCount({ waitForRedis: false })) === 0) {
      try {
        await this.insert(this.pool, [row]);
        this.lastError = null;
        return;
      } catch (err) {
        this.noteDown(err);
      }
    }
    await this.park(row);
    void this.flush();
  }

  private async park(row: AuditRow): Promise<void> {
    try {
      await ensureRedis(this.opts.redis, 'redis', 1_500);
      await this.opts.redis.rpush(this.pendingKey, JSON.stringify(row));
    } catch (err) {
      if (this.memory.length >= MEMORY_LIMIT) this.memory.shift();
      this.memory.push(row);
      this.opts.logger.error({ err: errorMessage(err) }, 'audit row kept in memory: PostgreSQL and Redis are both unreachable');
    }
  }

  private async pendingCount(opts: { waitForRedis: boolean }): Promise<number> {
    try {
      if (opts.waitForRedis) await ensureRedis(this.opts.redis, 'redis', 1_500);
      return this.memory.length + (await this.opts.redis.llen(this.pendingKey));
    } catch {
      return this.memory.length;
    }
  }

  /** Writes waiting rows, oldest first. One process at a time drains the shared list. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async drain(): Promise<void> {
    if (!(await this.tryMigrate())) return;
    try {
      if (this.memory.length > 0) {
        await this.insert(this.pool, this.memory.slice(0, FLUSH_BATCH));
        this.memory.splice(0, FLUSH_BATCH);
      }
      const lock = await this.opts.redis.set(this.lockKey, String(process.pid), 'PX', 30_000, 'NX').catch(() => null);
      if (lock !== 'OK') return;
      try {
        for (;;) {
          const batch = await this.opts.redis.lrange(this.pendingKey, 0, FLUSH_BATCH - 1);
          if (batch.length === 0) break;
          await this.insert(this.pool, batch.map(reviveRow));
          await this.opts.redis.ltrim(this.pendingKey, batch.length, -1);
          await this.opts.redis.pexpire(this.lockKey, 30_000);
        }
      } finally {
        await this.opts.redis.del(this.lockKey).catch(() => undefined);
      }
      this.lastError = null;
    } catch (err) {
      this.noteDown(err);
    }
  }

  private async insert(pool: pg.Pool, rows: AuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    const cols = ['id', 'kind', 'actor_id', 'actor_name', 'role', 'adapter', 'channel', 'command', 'args', 'host', 'job_id', 'started_at', 'finished_at', 'outcome', 'error', 'detail'];
    const values: unknown[] = [];
    const tuples = rows.map((r, i) => {
      values.push(r.id, r.kind, r.actorId, r.actorName, r.role, r.adapter, r.channel, r.command, JSON.stringify(r.args ?? {}), r.host, r.jobId, r.startedAt, r.finishedAt, r.outcome, r.error, r.detail === undefined ? null : JSON.stringify(r.detail));
      return `(${cols.map((_, j) => `$${i * cols.length + j + 1}`).join(', ')})`;
    });
    // ON CONFLICT: a row re-sent after a crash between insert and trim is written once
    await pool.query(`INSERT INTO ${this.table} (${cols.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO NOTHING`, values);
  }

  /** The newest rows, newest first. */
  async recent(limit: number, filter: { host?: string } = {}): Promise<AuditRow[]> {
    if (!(await this.tryMigrate())) throw this.unavailable();
    try {
      const where = filter.host ? 'WHERE host = $2' : '';
      const params: unknown[] = [limit, ...(filter.host ? [filter.host] : [])];
      const { rows } = await this.pool.query(
        `SELECT id, kind, actor_id, actor_name, role, adapter, channel, command, args, host, job_id, started_at, finished_at, outcome, error, detail
           FROM ${this.table} ${where} ORDER BY started_at DESC, finished_at DESC NULLS LAST LIMIT $1`,
        params,
      );
      return rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        actorId: r.actor_id,
        actorName: r.actor_name,
        role: r.role,
        adapter: r.adapter,
        channel: r.channel,
        command: r.command,
        args: r.args,
        host: r.host,
        jobId: r.job_id,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        outcome: r.outcome,
        error: r.error,
        detail: r.detail ?? undefined,
      }));
    } catch (err) {
      this.noteDown(err);
      throw this.unavailable();
    }
  }

  private unavailable() {
    return unavailableError(
      `The audit log is unavailable: ${this.lastError ?? `${describeDatabase(this.opts.databaseUrl)} is unreachable`}.`,
      'Commands still run; their rows wait in Redis and are written when PostgreSQL is back.',
    );
  }

  async health(): Promise<AuditHealth> {
    const pending = await this.pendingCount({ waitForRedis: true });
    const ok = this.migrated && this.lastError === null;
    return { ok, pending, reason: ok ? null : (this.lastError ?? 'migrations not applied yet') };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing?.catch(() => undefined);
    // the last resort for rows neither PostgreSQL nor Redis took: the log keeps them
    for (const row of this.memory.splice(0)) this.opts.logger.error({ auditRow: row }, 'audit row not stored: PostgreSQL and Redis were unreachable');
    await this.pool.end().catch(() => undefined);
  }
}

function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|57P0[13]|08\d\d\d)$/.test(code) || /timeout|terminated/i.test(errorMessage(err));
}

function reviveRow(json: string): AuditRow {
  const row = JSON.parse(json) as AuditRow & { startedAt: string; finishedAt: string | null };
  return { ...row, startedAt: new Date(row.startedAt), finishedAt: row.finishedAt ? new Date(row.finishedAt) : null };
}
