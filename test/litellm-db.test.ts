import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUserError, type UserError } from '../src/core/errors.js';
import { openLiteLLMDb, type LiteLLMDb } from '../src/litellm/db.js';
import { DATABASE_URL, dropSchema, uniqueName } from './support/env.js';
import { freePort } from './support/engines-helpers.js';
import { createLiteLLMTestDb, withSearchPath, type LiteLLMTestDb } from './support/litellm-db.js';

const opened: LiteLLMDb[] = [];
function open(url: string, timeoutMs?: number): LiteLLMDb {
  const db = openLiteLLMDb(url, timeoutMs ? { timeoutMs } : {});
  opened.push(db);
  return db;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.close()));
});

async function failure(promise: Promise<unknown>): Promise<UserError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isUserError(err), String(err)).toBe(true);
  return err as UserError;
}

describe('LiteLLM DB reader on the 2026 schema', () => {
  let fixture: LiteLLMTestDb;
  beforeAll(async () => {
    fixture = await createLiteLLMTestDb();
    await fixture.insertModel({ model_id: 'b-id', model_name: 'chat-b', litellm_params: { model: 'c1', custom_llm_provider: 'c2', timeout: 120 } });
    await fixture.insertModel({ model_id: 'a-id', model_name: 'chat-a', litellm_params: { model: 'c3' }, model_info: { id: 'a-id', mode: 'chat' }, blocked: true });
    await fixture.insertModel({ model_id: 's-id', model_name: 'chat-s', litellm_params: { model: 'c4', rpm: 10 }, paramsAsJsonString: true, model_info: null });
    await fixture.query(`INSERT INTO "LiteLLM_ProxyModelTable" (model_id, model_name, litellm_params, created_by, updated_by) VALUES ('u-id', 'chat-u', '"not json"', 'x', 'x')`);
  });
  afterAll(() => fixture.drop());

  it('reads the models, objects and JSON strings alike', async () => {
    const models = await open(fixture.url).models();
    expect(models.map((m) => [m.modelName, m.modelId, m.paramsStorage, m.blocked])).toEqual([
      ['chat-a', 'a-id', 'object', true],
      ['chat-b', 'b-id', 'object', false],
      ['chat-s', 's-id', 'json-string', false],
      ['chat-u', 'u-id', 'unreadable', false],
    ]);
    expect(models[1]).toMatchObject({ litellmParams: { model: 'c1', custom_llm_provider: 'c2', timeout: 120 }, modelInfo: { id: 'b-id' }, createdBy: 'default_user_id' });
    expect(models[1]!.createdAt).toBeInstanceOf(Date);
    expect(models[2]).toMatchObject({ litellmParams: { model: 'c4', rpm: 10 }, modelInfo: null });
    expect(models[3]!.litellmParams).toEqual({});
  });

  it('says whether the admin user exists and with which role', async () => {
    const db = open(fixture.url);
    expect(await db.adminUser()).toEqual({ userId: 'default_user_id', exists: false, role: null, isProxyAdmin: false });
    await fixture.insertUser({ user_id: 'default_user_id', user_role: 'proxy_admin' });
    await fixture.insertUser({ user_id: 'admin', user_role: 'internal_user' });
    expect(await db.adminUser()).toEqual({ userId: 'default_user_id', exists: true, role: 'proxy_admin', isProxyAdmin: true });
    expect(await db.adminUser('admin')).toEqual({ userId: 'admin', exists: true, role: 'internal_user', isProxyAdmin: false });
  });

  it('reads the LiteLLM_Config rows', async () => {
    await fixture.setConfigRow('router_settings', { fallbacks: [{ 'chat-default': ['qwen3-coder-480b-cloud'] }] });
    await fixture.setConfigRow('general_settings', { alerting: [] });
    await fixture.setConfigRow('general_settings', { alerting: ['slack'] });
    expect(await open(fixture.url).configRows()).toEqual({
      general_settings: { alerting: ['slack'] },
      router_settings: { fallbacks: [{ 'chat-default': ['qwen3-coder-480b-cloud'] }] },
    });
  });

  it('lists the tables and optional columns that exist', async () => {
    const columns = await open(fixture.url).columns();
    expect(columns.optional).toEqual({ proxyModelBlocked: true, userPolicies: true });
    expect(columns.tables.LiteLLM_ProxyModelTable).toEqual(['model_id', 'model_name', 'litellm_params', 'model_info', 'blocked', 'created_at', 'created_by', 'updated_at', 'updated_by']);
    expect(columns.tables.LiteLLM_Config).toEqual(['param_name', 'param_value']);
    expect(columns.missingTables).toEqual(['LiteLLM_VerificationToken', 'LiteLLM_AuditLog']);
  });

  it('answers ping', async () => {
    expect((await open(fixture.url).ping()).latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('gives up on the caller\'s abort with the caller\'s reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('the job was cancelled'));
    await expect(open(fixture.url).models(controller.signal)).rejects.toThrow('the job was cancelled');
  });
});

describe('LiteLLM DB reader on the 2025 schema', () => {
  it('reads models without the blocked column', async () => {
    const fixture = await createLiteLLMTestDb({ shape: '2025' });
    try {
      await fixture.insertModel({ model_id: 'x', model_name: 'chat-x', litellm_params: { model: 'c' } });
      const db = open(fixture.url);
      expect((await db.models()).map((m) => [m.modelId, m.blocked])).toEqual([['x', undefined]]);
      expect((await db.columns()).optional).toEqual({ proxyModelBlocked: false, userPolicies: false });
    } finally {
      await fixture.drop();
    }
  });
});

describe('LiteLLM DB reader when the database is not usable', () => {
  it('names a database that refuses connections, without its password', async () => {
    const port = await freePort();
    const err = await failure(open(`postgres://litellm:s3cret-db-pw@127.0.0.1:${port}/litellm?password=s3cret-db-pw`).models());
    expect(err.kind).toBe('unavailable');
    expect(err.message).toBe(`LiteLLM's database (postgres://litellm@127.0.0.1:${port}/litellm): connection refused`);
    expect(`${err.message} ${err.hint}`).not.toContain('s3cret');
  });

  it('gives up on a server that never answers after the timeout', async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const t0 = Date.now();
      const err = await failure(open(`postgres://postgres@127.0.0.1:${port}/litellm`, 300).adminUser());
      expect(err.kind).toBe('unavailable');
      expect(err.message).toBe(`LiteLLM's database (postgres://postgres@127.0.0.1:${port}/litellm) did not answer in 300 ms`);
      expect(Date.now() - t0).toBeLessThan(1_500);
    } finally {
      sockets.forEach((s) => s.destroy());
      server.close();
    }
  });

  it('names a database that does not exist', async () => {
    const url = new URL(DATABASE_URL);
    url.pathname = `/${uniqueName('nodb')}`;
    const err = await failure(open(url.toString()).ping());
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/does not exist/);
  });

  it('says when the schema has no LiteLLM tables', async () => {
    const schema = uniqueName('empty');
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
    await admin.end();
    try {
      const db = open(withSearchPath(DATABASE_URL, schema));
      const err = await failure(db.models());
      expect(err.kind).toBe('failed');
      expect(err.message).toMatch(/does not have LiteLLM's tables as expected: relation "LiteLLM_ProxyModelTable" does not exist/);
      expect((await db.columns()).missingTables).toHaveLength(5);
    } finally {
      await dropSchema(schema);
    }
  });
});
