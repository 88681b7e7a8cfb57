/**
 * labops' own database and LiteLLM's over TLS. The server is the real PostgreSQL behind a front
 * that speaks only TLS (PostgreSQL's SSLRequest, then the handshake; plain text is refused as a
 * server with only `hostssl` lines refuses it), with a certificate for "localhost" from a CA made
 * at test time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabDatabase } from '../src/db/database.js';
import { openLiteLLMDb } from '../src/litellm/db.js';
import { DATABASE_URL, dropSchema, uniqueName } from './support/env.js';
import { PgTlsFront } from './support/pg-tls-front.js';
import { makeTestCa, type TestCa } from './support/test-ca.js';

const dir = mkdtempSync(join(tmpdir(), 'labops-pgtls-'));
const schema = uniqueName('tls');
const real = new URL(DATABASE_URL);
let ca: TestCa;
let front: PgTlsFront;
/** the test database through the TLS front, under `host` */
const url = (host: string, params = '') => {
  const u = new URL(DATABASE_URL);
  u.hostname = host;
  u.port = String(front.port);
  return `${u.toString()}${params}`;
};

beforeAll(async () => {
  ca = makeTestCa(join(dir, 'ca'), ['localhost']);
  front = new PgTlsFront({ cert: ca.serverCert, key: ca.serverKey }, { host: real.hostname, port: Number(real.port || 5432) });
  await front.open();
});

afterAll(async () => {
  await front?.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

async function migrate(dbUrl: string, ssl?: ConstructorParameters<typeof LabDatabase>[2]): Promise<string> {
  const db = new LabDatabase(dbUrl, schema, ssl);
  try {
    await db.migrate();
    const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${db.table('audit_log')}`);
    return `ok ${rows[0]!.n}`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await db.close();
  }
}

describe('PostgreSQL over TLS', () => {
  it('database.ssl with the lab CA: verified (verify-full by default once a CA is given), migrated, queried', async () => {
    expect(await migrate(url('localhost'), { ca: ca.ca })).toBe('ok 0');
  });

  it('refuses plain text, a server its CA did not sign, and a name the certificate does not carry', async () => {
    expect(await migrate(url('localhost'))).toMatch(/no pg_hba\.conf entry .*no encryption/);
    expect(await migrate(url('localhost'), { ca: ca.otherCa })).toMatch(/self[- ]signed certificate|unable to verify/);
    expect(await migrate(url('127.0.0.1'), { ca: ca.ca })).toMatch(/altnames/);
  });

  it('the URL\'s own parameters: verify-ca checks the chain but not the name; require encrypts without checking', async () => {
    expect(await migrate(url('127.0.0.1', `?sslmode=verify-ca&sslrootcert=${encodeURIComponent(ca.ca)}`))).toBe('ok 0');
    expect(await migrate(url('127.0.0.1', '?sslmode=require'))).toBe('ok 0');
    // the URL wins over database.ssl
    expect(await migrate(url('localhost', '?sslmode=disable'), { ca: ca.ca })).toMatch(/no encryption/);
  });

  it('LiteLLM\'s database takes the same options (litellm.databaseSsl)', async () => {
    const db = openLiteLLMDb(url('localhost'), { ssl: { ca: ca.ca } });
    try {
      await expect(db.ping()).resolves.toMatchObject({ latencyMs: expect.any(Number) });
    } finally {
      await db.close();
    }
    const plain = openLiteLLMDb(url('localhost'));
    try {
      await expect(plain.ping()).rejects.toThrow(/no encryption/);
    } finally {
      await plain.close();
    }
  });
});
