import type { DbSslConfig, SslMode } from './schema.js';

/** The libpq parameters of a PostgreSQL URL that labops reads itself (and removes before pg sees the URL). */
export const URL_SSL_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;

export interface DbSslSettings {
  mode: SslMode;
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * How to reach a PostgreSQL URL: its own libpq parameters (`sslmode`, `sslrootcert`, `sslcert`,
 * `sslkey`) first, then the config's `ssl` options. Without a mode: `verify-full` when a CA is
 * given, else `disable` (as before TLS support). `require` with a CA checks the certificate as
 * `verify-ca` does, like libpq.
 */
export function resolveDbSsl(url: string, ssl: DbSslConfig | undefined): DbSslSettings {
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    params = new URLSearchParams();
  }
  const ca = params.get('sslrootcert') ?? ssl?.ca;
  const cert = params.get('sslcert') ?? ssl?.cert;
  const key = params.get('sslkey') ?? ssl?.key;
  let mode = (params.get('sslmode') as SslMode | null) ?? ssl?.mode ?? (ca ? 'verify-full' : 'disable');
  if (mode === 'require' && ca) mode = 'verify-ca';
  return { mode, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}
