import pg from 'pg';

/** labops' own tables, in order; each runs once, in a transaction. Never edit one that has shipped: add the next. */
export const MIGRATIONS: readonly { version: number; name: string; sql: (schema: string) => string }[] = [
  {
    version: 1,
    name: 'audit log',
    sql: (s) => `
      CREATE TABLE ${s}.audit_log (
        id          uuid PRIMARY KEY,
        kind        text NOT NULL,
        actor_id    text NOT NULL,
        actor_name  text NOT NULL,
        role        text,
        adapter     text NOT NULL,
        channel     text,
        command     text NOT NULL,
        args        jsonb NOT NULL DEFAULT '{}',
        host        text,
        job_id      text,
        started_at  timestamptz NOT NULL,
        finished_at timestamptz,
        outcome     text NOT NULL,
        error       text,
        detail      jsonb
      );
      CREATE INDEX audit_log_started_at_idx ON ${s}.audit_log (started_at DESC);
      CREATE INDEX audit_log_host_idx ON ${s}.audit_log (host, started_at DESC);`,
  },
  {
    version: 2,
    name: 'measured model footprints',
    sql: (s) => `
      CREATE TABLE ${s}.model_footprint (
        host        text NOT NULL,
        model       text NOT NULL,
        vram_mib    integer NOT NULL,
        measured_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (host, model)
      );`,
  },
];

/** Applies what is missing, under an advisory lock so a bot and a worker starting together do not race. */
export async function migrate(pool: pg.Pool, schema: string): Promise<number[]> {
  const s = pg.escapeIdentifier(schema);
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`labops-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`)).rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql(s));
      await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
