import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { resolveDbSsl, URL_SSL_PARAMS } from '../config/db-ssl.js';
import type { DbSslConfig } from '../config/schema.js';
import { usageError } from '../core/errors.js';
import { safeUrl } from '../core/redact.js';

export type { DbSslConfig } from '../config/schema.js';

/**
 * What pg gets for a URL: the URL without its libpq TLS parameters (labops reads those itself, so
 * their meaning does not depend on pg's version), and the TLS options they and `ssl` ask for.
 */
export function pgConnection(url: string, ssl?: DbSslConfig): { connectionString: string; ssl: false | ConnectionOptions } {
  const settings = resolveDbSsl(url, ssl);
  let connectionString = url;
  try {
    const u = new URL(url);
    for (const p of URL_SSL_PARAMS) u.searchParams.delete(p);
    connectionString = u.toString();
  } catch {
    // pg reports the URL; the config check said it does not parse
  }
  if (settings.mode === 'disable') return { connectionString, ssl: false };
  const tls: ConnectionOptions = {
    rejectUnauthorized: settings.mode !== 'require',
    ...(settings.ca ? { ca: readPem(settings.ca, 'CA') } : {}),
    ...(settings.cert ? { cert: readPem(settings.cert, 'client certificate') } : {}),
    ...(settings.key ? { key: readPem(settings.key, 'client key') } : {}),
  };
  // verify-ca: the chain is checked, the host name is not
  if (settings.mode === 'verify-ca') tls.checkServerIdentity = () => undefined;
  return { connectionString, ssl: tls };
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`Cannot read the PostgreSQL ${what} file ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`, 'Fix database.ssl / litellm.databaseSsl or the sslrootcert, sslcert, sslkey parameters of the URL.');
  }
}

/** A pool that gives up quickly: a command must not hang because PostgreSQL does. */
export function createPool(url: string, ssl?: DbSslConfig): pg.Pool {
  const pool = new pg.Pool({
    ...pgConnection(url, ssl),
    max: 4,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 10_000,
    statement_timeout: 5_000,
    query_timeout: 6_000,
  });
  pool.on('error', () => undefined); // an idle client lost its server; the next query reports it
  return pool;
}

/** Creates the database named in `url` when the server does not have it yet. */
export async function ensureDatabase(url: string, ssl?: DbSslConfig): Promise<void> {
  const probe = new pg.Client({ ...pgConnection(url, ssl), connectionTimeoutMillis: 2_000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ ...pgConnection(admin.toString(), ssl), connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } catch (err) {
    // created meanwhile by another process (a bot and a worker starting together)
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function describeDatabase(url: string): string {
  return `PostgreSQL at ${safeUrl(url)}`;
}

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
