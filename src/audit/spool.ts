import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The last resort for audit rows when PostgreSQL and Redis are both unreachable: a JSON-lines file
 * on this machine, one per database and schema, handed to PostgreSQL by the next process that
 * reaches it (this one or a later `labops exec`).
 */
export class AuditSpool {
  readonly file: string;

  constructor(databaseUrl: string, schema: string, dir = defaultSpoolDir()) {
    const id = createHash('sha256').update(`${databaseUrl}\n${schema}`).digest('hex').slice(0, 16);
    this.file = join(dir, `audit-spool-${id}.jsonl`);
  }

  /** Appends a row; false when even the file could not be written. */
  append(json: string): boolean {
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      appendFileSync(this.file, `${json}\n`, { mode: 0o600 });
      return true;
    } catch {
      return false;
    }
  }

  /** Rows waiting in the file (0 when there is none). */
  count(): number {
    try {
      return readFileSync(this.file, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  }

  /**
   * Takes the waiting rows out of the file for `write`; they go back if it fails. The file is
   * renamed first, so two processes never write the same rows.
   */
  async drain(write: (rows: string[]) => Promise<void>): Promise<number> {
    const taking = `${this.file}.${process.pid}.taking`;
    try {
      renameSync(this.file, taking);
    } catch {
      return 0;
    }
    const rows = readFileSync(taking, 'utf8').split('\n').filter(Boolean);
    try {
      await write(rows);
      rmSync(taking, { force: true });
      return rows.length;
    } catch (err) {
      for (const row of rows) this.append(row);
      rmSync(taking, { force: true });
      throw err;
    }
  }
}

function defaultSpoolDir(): string {
  return join(process.env.XDG_STATE_HOME || join(process.env.HOME || homedir(), '.local', 'state'), 'labops');
}
