import { randomUUID } from 'node:crypto';
import { errorMessage, unavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isConnectionFailure, type LabDatabase } from '../db/database.js';
import { ensureRedis, key, type Redis } from '../redis/connection.js';
import { waitingRowSchema, type AuditEntry, type AuditHealth, type AuditRow } from './entry.js';
import { sanitizeEntry } from './sanitize.js';
import { AuditSpool } from './spool.js';

export type { AuditEntry, AuditHealth, AuditRow } from './entry.js';

const FLUSH_BATCH = 100;
const COLUMNS = ['id', 'kind', 'actor_id', 'actor_name', 'role', 'adapter', 'channel', 'command', 'args', 'host', 'job_id', 'started_at', 'finished_at', 'outcome', 'error', 'detail'];

/**
 * The audit log in PostgreSQL. `record` never throws. While PostgreSQL is down, rows wait in a Redis
 * list (with Redis down too, in a local spool file) and are written, once each and in order, when it
 * is back. Every string is cleaned and capped before it is stored (see sanitize.ts); a row PostgreSQL
 * still refuses is set aside in a second list, logged and counted in `/status`, and never holds up
 * the rows behind it.
 */
export class AuditLog {
  private readonly table: string;
  private readonly pendingKey: string;
  private readonly rejectedKey: string;
  private readonly lockKey: string;
  private readonly spool: AuditSpool;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly opts: { db: LabDatabase; redis: Redis; redisUrl: string; prefix: string; logger: Logger; flushIntervalMs?: number; spoolDir?: string },
  ) {
    this.table = opts.db.table('audit_log');
    this.pendingKey = key(opts.prefix, 'audit', 'pending');
    this.rejectedKey = key(opts.prefix, 'audit', 'rejected');
    this.lockKey = key(opts.prefix, 'audit', 'flush-lock');
    this.spool = new AuditSpool(opts.db.url, opts.db.schema, opts.spoolDir);
  }

  /** Creates the database and runs migrations; when PostgreSQL is down it keeps trying in the background. */
  async start(): Promise<void> {
    await this.tryMigrate();
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs ?? 5_000);
    this.timer.unref();
    if (this.spool.count() > 0) void this.flush();
  }

  private async tryMigrate(): Promise<boolean> {
    if (this.opts.db.ready) return true;
    try {
      const applied = await this.opts.db.migrate();
      if (applied.length > 0) this.opts.logger.info({ applied }, 'database migrations applied');
      this.lastError = null;
      return true;
    } catch (err) {
      this.noteDown(err);
      return false;
    }
  }

  private noteDown(err: unknown): void {
    const reason = this.opts.db.describeFailure(err);
    if (reason !== this.lastError) this.opts.logger.warn({ reason }, 'audit store degraded; rows wait in Redis');
    this.lastError = reason;
  }

  async record(entry: AuditEntry): Promise<void> {
    const row: AuditRow = { ...sanitizeEntry(entry), id: entry.id ?? randomUUID() };
    // rows already waiting go first, to keep the order; a Redis that is down or still connecting has none we can see
    if (this.opts.db.ready && (await this.pendingCount({ waitForRedis: false })) === 0) {
      try {
        await this.insert([row]);
        this.lastError = null;
        return;
      } catch (err) {
        if (!isConnectionFailure(err)) {
          await this.reject(row, err);
          return;
        }
        this.noteDown(err);
      }
    }
    await this.park(row);
    void this.flush();
  }

  private async park(row: AuditRow): Promise<void> {
    const json = JSON.stringify(row);
    try {
      await ensureRedis(this.opts.redis, this.opts.redisUrl, 1_500);
      await this.opts.redis.rpush(this.pendingKey, json);
    } catch (err) {
      if (this.spool.append(json)) {
        this.opts.logger.warn({ err: errorMessage(err), spool: this.spool.file }, 'audit row kept in the local spool file: PostgreSQL and Redis are both unreachable');
      } else {
        this.opts.logger.error({ auditRow: row }, 'audit row NOT recorded: PostgreSQL, Redis and the local spool file all failed');
      }
    }
  }

  /** A row PostgreSQL refuses whatever we do: kept aside with the reason, never retried in front of the others. */
  private async reject(row: AuditRow, err: unknown): Promise<void> {
    const reason = errorMessage(err);
    this.opts.logger.error({ id: row.id, command: row.command, reason }, 'PostgreSQL refused an audit row; it is set aside (see /status)');
    try {
      await this.opts.redis.rpush(this.rejectedKey, JSON.stringify({ reason, row }));
    } catch {
      this.spool.append(JSON.stringify({ ...row, outcome: row.outcome, error: `${row.error ?? ''} [refused by PostgreSQL: ${reason}]` }));
    }
  }

  private async pendingCount(opts: { waitForRedis: boolean }): Promise<number> {
    const spooled = this.spool.count();
    try {
      if (opts.waitForRedis) await ensureRedis(this.opts.redis, this.opts.redisUrl, 1_500);
      return spooled + (await this.opts.redis.llen(this.pendingKey));
    } catch {
      return spooled;
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
      await this.spool.drain((lines) => this.insertEach(this.revive(lines)));
      const lock = await this.opts.redis.set(this.lockKey, String(process.pid), 'PX', 30_000, 'NX').catch(() => null);
      if (lock !== 'OK') return;
      try {
        for (;;) {
          const batch = await this.opts.redis.lrange(this.pendingKey, 0, FLUSH_BATCH - 1);
          if (batch.length === 0) break;
          await this.insertEach(this.revive(batch));
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

  /** Rows read back from Redis or the spool file; a line that is not one is logged and dropped rather than block the rest. */
  private revive(lines: string[]): AuditRow[] {
    return lines.flatMap((line) => {
      try {
        return [reviveRow(line)];
      } catch (err) {
        this.opts.logger.error({ line: line.slice(0, 200), err: errorMessage(err) }, 'an unreadable waiting audit row was dropped');
        return [];
      }
    });
  }

  /** A batch in one statement; when PostgreSQL refuses it for its content, row by row, setting aside the ones it refuses. */
  private async insertEach(rows: AuditRow[]): Promise<void> {
    try {
      await this.insert(rows);
    } catch (err) {
      if (isConnectionFailure(err)) throw err;
      for (const row of rows) {
        try {
          await this.insert([row]);
        } catch (one) {
          if (isConnectionFailure(one)) throw one;
          await this.reject(row, one);
        }
      }
    }
  }

  private async insert(rows: AuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    const values: unknown[] = [];
    const tuples = rows.map((r, i) => {
      values.push(r.id, r.kind, r.actorId, r.actorName, r.role, r.adapter, r.channel, r.command, JSON.stringify(r.args ?? {}), r.host, r.jobId, r.startedAt, r.finishedAt, r.outcome, r.error, r.detail === undefined ? null : JSON.stringify(r.detail));
      return `(${COLUMNS.map((_, j) => `$${i * COLUMNS.length + j + 1}`).join(', ')})`;
    });
    // ON CONFLICT: a row re-sent after a crash between insert and trim is written once
    await this.opts.db.pool.query(`INSERT INTO ${this.table} (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO NOTHING`, values);
  }

  /** The newest rows, newest first. */
  async recent(limit: number, filter: { host?: string } = {}): Promise<AuditRow[]> {
    if (!(await this.tryMigrate())) throw this.unavailable();
    try {
      const where = filter.host ? 'WHERE host = $2' : '';
      const params: unknown[] = [limit, ...(filter.host ? [filter.host] : [])];
      const { rows } = await this.opts.db.pool.query(
        `SELECT ${COLUMNS.join(', ')} FROM ${this.table} ${where} ORDER BY started_at DESC, finished_at DESC NULLS LAST LIMIT $1`,
        params,
      );
      return rows.map(fromDb);
    } catch (err) {
      this.noteDown(err);
      throw this.unavailable();
    }
  }

  /** One row by id. */
  async get(id: string): Promise<AuditRow | null> {
    if (!(await this.tryMigrate())) throw this.unavailable();
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    try {
      const { rows } = await this.opts.db.pool.query(`SELECT ${COLUMNS.join(', ')} FROM ${this.table} WHERE id = $1`, [id]);
      return rows[0] ? fromDb(rows[0]) : null;
    } catch (err) {
      this.noteDown(err);
      throw this.unavailable();
    }
  }

  private unavailable() {
    return unavailableError(
      `The audit log is unavailable: ${this.lastError ?? `${this.opts.db.describe()} is unreachable`}.`,
      'Commands still run; their rows wait in Redis and are written when PostgreSQL is back.',
    );
  }

  async health(): Promise<AuditHealth> {
    const pending = await this.pendingCount({ waitForRedis: true });
    const rejected = await this.opts.redis.llen(this.rejectedKey).catch(() => 0);
    const ok = this.opts.db.ready && this.lastError === null;
    return { ok, pending, rejected, reason: ok ? null : (this.lastError ?? 'migrations not applied yet') };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing?.catch(() => undefined);
  }
}

function fromDb(r: Record<string, unknown>): AuditRow {
  return {
    id: r.id as string,
    kind: r.kind as AuditRow['kind'],
    actorId: r.actor_id as string,
    actorName: r.actor_name as string,
    role: r.role as string | null,
    adapter: r.adapter as string,
    channel: r.channel as string | null,
    command: r.command as string,
    args: r.args as Record<string, unknown>,
    host: r.host as string | null,
    jobId: r.job_id as string | null,
    startedAt: r.started_at as Date,
    finishedAt: r.finished_at as Date | null,
    outcome: r.outcome as string,
    error: r.error as string | null,
    detail: (r.detail as unknown) ?? undefined,
  };
}

function reviveRow(json: string): AuditRow {
  return waitingRowSchema.parse(JSON.parse(json)) as AuditRow;
}
