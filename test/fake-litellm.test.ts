import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL } from './support/env.js';
import { freePort, killTagged } from './support/engines-helpers.js';
import { fakeDecrypt, fakeEncrypt, fakeEncryptParams, startFakeLiteLLM } from './support/fake-litellm.js';
import { withSearchPath } from './support/litellm-db.js';
import { startLiteLLMLab, type LiteLLMLab } from './support/litellm-lab.js';

const vectors = JSON.parse(readFileSync(new URL('./fixtures/litellm-vectors.json', import.meta.url), 'utf8')) as {
  salt_key: string;
  wrong_salt_key: string;
  not_ciphertext: { value: string }[];
} & Record<'entries' | 'entries_std_b64' | 'entries_v2_gcm' | 'entries_v3_gcm', { plaintext: string; ciphertext: string }[]>;

interface Call {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { message: string; type: string; code: string } };
}

async function call(base: string, path: string, opts: { key?: string | null; body?: unknown } = {}): Promise<Call> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const res = await fetch(`${base}${path}`, {
    method: opts.body === undefined ? 'GET' : 'POST',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Call['body'] };
}

describe('the fake\'s own decryption', () => {
  it('reads every vector and rejects the wrong key and plain values', () => {
    for (const section of ['entries', 'entries_std_b64', 'entries_v2_gcm', 'entries_v3_gcm'] as const) {
      for (const { plaintext, ciphertext } of vectors[section]) {
        expect(fakeDecrypt(ciphertext, vectors.salt_key), `${section} ${plaintext}`).toBe(plaintext);
        expect(fakeDecrypt(ciphertext, vectors.wrong_salt_key)).toBeNull();
      }
    }
    for (const { value } of vectors.not_ciphertext) expect(fakeDecrypt(value, vectors.salt_key), value).toBeNull();
    for (const format of ['nacl', 'v3'] as const) expect(fakeDecrypt(fakeEncrypt('hosted_vllm', 'k', format), 'k')).toBe('hosted_vllm');
  });
});

describe('fake LiteLLM proxy in the incident lab', () => {
  let lab: LiteLLMLab;
  let base: string;
  let key: string;
  const chat = (model: string, extra: Record<string, unknown> = {}) =>
    call(base, '/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, ...extra } });

  beforeAll(async () => {
    lab = await startLiteLLMLab();
    base = lab.proxy.url;
    key = lab.masterKey;
  });
  afterAll(async () => {
    await lab?.cleanup();
    if (lab) killTagged(lab.modelServer.tag);
  });

  it('answers the health routes without a key', async () => {
    const live = await call(base, '/health/liveliness');
    expect([live.status, live.body]).toEqual([200, "I'm alive!"]);
    const ready = await call(base, '/health/readiness');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'healthy', db: 'connected', litellm_version: '1.81.0' });
  });

  it('refuses every other route without the master key, with LiteLLM\'s error body', async () => {
    for (const path of ['/v1/models', '/models', '/model/info', '/v1/model/info']) {
      const res = await call(base, path, { key: null });
      expect(res.status, path).toBe(401);
      expect(res.body.error).toEqual({ message: 'Authentication Error, No api key passed in.', type: 'auth_error', param: 'None', code: '401' });
    }
    const wrong = await call(base, '/v1/chat/completions', { key: 'sk-wrong-key-0000', body: { model: 'chat-default', messages: [] } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error!.message).toMatch(/^Authentication Error, Invalid proxy server token passed/);
  });

  it('lists config and DB model groups and visible aliases', async () => {
    const res = await call(base, '/v1/models', { key });
    expect(res.status).toBe(200);
    expect((res.body.data as { id: string }[]).map((m) => m.id)).toEqual([
      'chat-default',
      'chat-hermes-3-llama-3.1-8b',
      'embeddings-arctic-embed-m',
      'qwen3-coder-480b-cloud',
      'chat-qwen2.5-0.5b-vllm',
      'chat-mistral-7b-ollama',
      'chat-hermes',
    ]);
  });

  it('shows the router\'s decrypted view in /model/info, without api keys, ciphertext where it did not decrypt', async () => {
    const first = await call(base, '/model/info', { key });
    const again = await call(base, '/v1/model/info', { key });
    const data = first.body.data as { model_name: string; litellm_params: Record<string, unknown>; model_info: Record<string, unknown> }[];
    const qwen = data.find((d) => d.model_name === 'chat-qwen2.5-0.5b-vllm')!;
    expect(qwen.litellm_params).toEqual({ model: 'hosted_vllm/Qwen/Qwen2.5-0.5B-Instruct', custom_llm_provider: 'hosted_vllm', api_base: lab.modelServer.apiBase, timeout: 120, rpm: 60 });
    expect(qwen.model_info).toEqual({ id: 'db-qwen-0001', mode: 'chat', db_model: true });
    const mistral = data.find((d) => d.model_name === 'chat-mistral-7b-ollama')!;
    expect(mistral.litellm_params.model).toBe('mistral:7b');
    const [stored] = await lab.db.query<{ provider: string }>(`SELECT litellm_params->>'custom_llm_provider' AS provider FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'db-mistral-0002'`);
    expect(mistral.litellm_params.custom_llm_provider).toBe(stored!.provider);
    expect(stored!.provider).toMatch(/^[A-Za-z0-9_-]{56,}=*$/);
    const hermes = data.find((d) => d.model_name === 'chat-hermes-3-llama-3.1-8b')!;
    expect(hermes.model_info).toMatchObject({ db_model: false, id: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(again.body).toEqual(first.body);
    expect(data.find((d) => d.model_name === 'chat-default')!.model_info).toEqual({ id: 'chat-default-hermes', mode: 'chat', db_model: false });
    expect(JSON.stringify(first.body)).not.toContain(lab.upstreamApiKey);
  });

  it('answers a healthy DB model from its model server, with the LiteLLM headers', async () => {
    const res = await chat('chat-qwen2.5-0.5b-vllm');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'chat.completion', model: 'hermes-3-llama-3.1-8b', choices: [{ message: { content: 'ok' } }] });
    expect(Object.fromEntries(['x-litellm-model-id', 'x-litellm-model-group', 'x-litellm-model-api-base', 'x-litellm-attempted-fallbacks', 'x-litellm-attempted-retries'].map((h) => [h, res.headers.get(h)]))).toEqual({
      'x-litellm-model-id': 'db-qwen-0001',
      'x-litellm-model-group': 'chat-qwen2.5-0.5b-vllm',
      'x-litellm-model-api-base': lab.modelServer.apiBase,
      'x-litellm-attempted-fallbacks': '0',
      'x-litellm-attempted-retries': '0',
    });
    expect(res.headers.get('x-litellm-call-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-litellm-version')).toBe('1.81.0');
    expect(Number(res.headers.get('x-litellm-response-duration-ms'))).toBeGreaterThan(0);
  });

  it('fails a DB model whose provider is ciphertext under another key with 500 "LLM Provider NOT provided"', async () => {
    const res = await chat('chat-mistral-7b-ollama');
    expect(res.status).toBe(500);
    expect(res.body.error!.message).toContain('LLM Provider NOT provided');
    expect(res.body.error!.code).toBe('500');
  });

  it('routes an alias to its group and embeddings to the embedder', async () => {
    const alias = await chat('chat-hermes');
    expect([alias.status, alias.headers.get('x-litellm-model-group')]).toEqual([200, 'chat-hermes-3-llama-3.1-8b']);
    const emb = await call(base, '/v1/embeddings', { key, body: { model: 'embeddings-arctic-embed-m', input: ['hello'] } });
    expect(emb.status).toBe(200);
    expect((emb.body.data as { embedding: number[] }[])[0]!.embedding).toHaveLength(8);
    const unknown = await chat('no-such-model');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error!.message).toContain('Invalid model name passed in model=no-such-model');
  });

  it('follows DB edits on the next request, JSONB strings and v3 values included', async () => {
    await lab.db.insertModel({
      model_id: 'db-late-0003',
      model_name: 'chat-late',
      litellm_params: { model: fakeEncrypt('openai/late', lab.saltKey, 'v3'), api_base: fakeEncrypt(lab.modelServer.apiBase, lab.saltKey) },
      paramsAsJsonString: true,
    });
    try {
      const res = await chat('chat-late');
      expect([res.status, res.headers.get('x-litellm-model-id')]).toEqual([200, 'db-late-0003']);
    } finally {
      await lab.db.deleteModel('db-late-0003');
    }
    expect((await chat('chat-late')).status).toBe(400);
  });

  it('does not route a blocked DB model', async () => {
    await lab.db.insertModel({ model_id: 'db-blocked', model_name: 'chat-blocked', litellm_params: fakeEncryptParams({ model: 'openai/x' }, lab.saltKey), blocked: true });
    try {
      expect((await chat('chat-blocked')).status).toBe(400);
    } finally {
      await lab.db.deleteModel('db-blocked');
    }
  });

  it('takes the fallback when asked to test it', async () => {
    const res = await chat('chat-default', { mock_testing_fallbacks: true });
    expect([res.status, res.headers.get('x-litellm-model-group'), res.headers.get('x-litellm-attempted-fallbacks')]).toEqual([200, 'qwen3-coder-480b-cloud', '1']);
  });

  it('answers chat-default locally while the model server runs, and from the cloud fallback once it is stopped', async () => {
    const local = await chat('chat-default');
    expect(local.status).toBe(200);
    expect([local.headers.get('x-litellm-model-id'), local.headers.get('x-litellm-model-group'), local.headers.get('x-litellm-attempted-fallbacks')]).toEqual([
      'chat-default-hermes',
      'chat-default',
      '0',
    ]);
    expect(local.body.model).toBe('hermes-3-llama-3.1-8b');

    await lab.modelServer.stop();

    const fallback = await chat('chat-default');
    expect(fallback.status).toBe(200);
    expect(Number(fallback.headers.get('x-litellm-attempted-fallbacks'))).toBeGreaterThan(0);
    expect(fallback.headers.get('x-litellm-model-group')).toBe('qwen3-coder-480b-cloud');
    expect(fallback.body.model).toBe('qwen/qwen3-coder');
    // a group without a fallback now fails: connection refused
    const down = await chat('chat-qwen2.5-0.5b-vllm');
    expect(down.status).toBe(500);
    expect(down.body.error!.message).toContain('Connection error');

    // a DB deployment with the config's model_name joins its group and is tried before the fallback
    await lab.db.insertModel({
      model_id: 'db-default-cloud',
      model_name: 'chat-default',
      litellm_params: fakeEncryptParams({ model: 'openai/hermes-3-llama-3.1-8b', api_base: 'https://hermes.cloud.invalid/v1' }, lab.saltKey),
    });
    try {
      const sameGroup = await chat('chat-default');
      expect([sameGroup.status, sameGroup.headers.get('x-litellm-model-id'), sameGroup.headers.get('x-litellm-attempted-fallbacks'), sameGroup.headers.get('x-litellm-attempted-retries')]).toEqual([
        200,
        'db-default-cloud',
        '0',
        '1',
      ]);
    } finally {
      await lab.db.deleteModel('db-default-cloud');
    }
  });
});

describe('fake LiteLLM proxy without its database', () => {
  it('says db "disconnected" in readiness when the DB URL points at a closed port', async () => {
    const port = await freePort();
    const proxy = await startFakeLiteLLM({ masterKey: 'sk-m-123456', databaseUrl: `postgres://postgres@127.0.0.1:${port}/litellm`, version: '1.80.5' });
    try {
      const ready = await call(proxy.url, '/health/readiness');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'healthy', db: 'disconnected', litellm_version: '1.80.5' });
      const models = await call(proxy.url, '/v1/models', { key: 'sk-m-123456' });
      expect([models.status, models.body.data]).toEqual([200, []]);
    } finally {
      await proxy.close();
    }
  });

  it('says "Not connected" without a DB URL, and "connected" with a reachable one', async () => {
    const bare = await startFakeLiteLLM({ masterKey: 'sk-m-123456' });
    const withDb = await startFakeLiteLLM({ masterKey: 'sk-m-123456', databaseUrl: withSearchPath(DATABASE_URL, 'public') });
    try {
      expect((await call(bare.url, '/health/readiness')).body.db).toBe('Not connected');
      expect((await call(withDb.url, '/health/readiness')).body.db).toBe('connected');
    } finally {
      await bare.close();
      await withDb.close();
    }
  });
});
