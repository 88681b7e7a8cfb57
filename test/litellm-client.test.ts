import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiteLLMClient, type LiteLLMClient } from '../src/litellm/client.js';
import { decryptNested, deriveKeys, encryptValue, looksLikeCiphertext } from '../src/litellm/crypto.js';
import { openLiteLLMDb, type LiteLLMDb } from '../src/litellm/db.js';
import { isKnownProvider, resolveProvider } from '../src/litellm/providers.js';
import { freePort, killTagged } from './support/engines-helpers.js';
import { startFakeLiteLLM, type FakeLiteLLM } from './support/fake-litellm.js';
import { startLiteLLMLab, type LiteLLMLab } from './support/litellm-lab.js';

const TINY_PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const WRONG_KEY = 'sk-wrong-master-key-31337abcd';

describe('LiteLLM client and DB reader against the fake proxy', () => {
  let lab: LiteLLMLab;
  let client: LiteLLMClient;
  let db: LiteLLMDb;
  const results: unknown[] = [];
  const keep = <T>(value: T): T => (results.push(value), value);

  beforeAll(async () => {
    lab = await startLiteLLMLab();
    client = createLiteLLMClient({ baseUrl: lab.proxy.url, masterKey: lab.masterKey });
    db = openLiteLLMDb(lab.db.url);
  });
  afterAll(async () => {
    await db?.close();
    await lab?.cleanup();
    if (lab) killTagged(lab.modelServer.tag);
  });

  it('reads liveliness, readiness, the model list and the router\'s view', async () => {
    expect(keep(await client.liveliness())).toMatchObject({ ok: true, status: 200, message: "I'm alive!" });
    expect(keep(await client.readiness())).toMatchObject({ ok: true, status: 'healthy', db: 'connected', litellmVersion: '1.81.0' });
    const models = keep(await client.models());
    expect(models.ok && models.ids).toContain('chat-default');
    expect(models.ok && models.ids).toContain('chat-mistral-7b-ollama');

    const info = keep(await client.modelInfo());
    if (!info.ok) throw new Error(`modelInfo failed: ${JSON.stringify(info)}`);
    const qwen = info.deployments.find((d) => d.modelName === 'chat-qwen2.5-0.5b-vllm')!;
    expect(qwen).toMatchObject({ id: 'db-qwen-0001', dbModel: true, litellmParams: { custom_llm_provider: 'hosted_vllm' } });
    expect(info.deployments.find((d) => d.modelName === 'chat-default')).toMatchObject({ id: 'chat-default-hermes', dbModel: false });
    // the incident's signature, seen over HTTP: a provider that is still a ciphertext
    const broken = info.deployments.filter((d) => {
      const provider = resolveProvider(d.litellmParams);
      return provider !== undefined && !isKnownProvider(provider) && looksLikeCiphertext(provider);
    });
    expect(broken.map((d) => d.id)).toEqual(['db-mistral-0002']);
  });

  it('makes a 1-token chat call and reads who answered', async () => {
    const result = keep(await client.chat('chat-qwen2.5-0.5b-vllm'));
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      content: 'ok',
      model: 'hermes-3-llama-3.1-8b',
      headers: { modelId: 'db-qwen-0001', modelGroup: 'chat-qwen2.5-0.5b-vllm', apiBase: lab.modelServer.apiBase, attemptedFallbacks: 0, attemptedRetries: 0, version: '1.81.0' },
    });
    expect(result.latencyMs).toBeGreaterThan(0);
    expect(keep(await client.chat('chat-default', { image: TINY_PNG }))).toMatchObject({ ok: true, headers: { modelId: 'chat-default-hermes' } });
  });

  it('calls the embedder', async () => {
    expect(keep(await client.embeddings('embeddings-arctic-embed-m', ['a', 'b']))).toMatchObject({ ok: true, count: 2, dimensions: 8, headers: { modelGroup: 'embeddings-arctic-embed-m' } });
  });

  it('returns LiteLLM\'s error message for a failing model, not an exception', async () => {
    const broken = keep(await client.chat('chat-mistral-7b-ollama'));
    expect(broken).toMatchObject({ ok: false, kind: 'http', status: 500 });
    expect(!broken.ok && broken.kind === 'http' && broken.message).toMatch(/^litellm\.BadRequestError: LLM Provider NOT provided/);
    expect(keep(await client.chat('no-such-model'))).toMatchObject({ ok: false, kind: 'http', status: 400, message: expect.stringContaining('Invalid model name') });
  });

  it('tells a wrong master key apart from an HTTP error', async () => {
    const wrong = createLiteLLMClient({ baseUrl: lab.proxy.url, masterKey: WRONG_KEY });
    for (const result of [await wrong.models(), await wrong.modelInfo(), await wrong.chat('chat-default'), await wrong.embeddings('embeddings-arctic-embed-m', 'x')]) {
      keep(result);
      expect(result).toMatchObject({ ok: false, kind: 'unauthorized', status: 401, message: expect.stringMatching(/^Authentication Error/) });
      // LiteLLM echoes the end of a wrong key; labops does not pass it on
      expect(!result.ok && result.kind === 'unauthorized' && result.message).toContain('Received API Key = ***,');
      expect(JSON.stringify(result)).not.toContain(WRONG_KEY.slice(-4));
    }
    // the health routes need no key
    expect(keep(await wrong.liveliness())).toMatchObject({ ok: true });
  });

  it('reads the DB rows and decrypts them with labops\' own crypto: the broken provider is under another key', async () => {
    const rows = await db.models();
    keep(rows);
    const keys = deriveKeys(lab.saltKey);
    const decrypt = (value: unknown) => (typeof value === 'string' ? decryptNested(value, keys) : undefined);
    const qwen = rows.find((r) => r.modelId === 'db-qwen-0001')!;
    expect(decrypt(qwen.litellmParams.custom_llm_provider)).toMatchObject({ ok: true, plaintext: 'hosted_vllm' });
    const mistral = rows.find((r) => r.modelId === 'db-mistral-0002')!;
    expect(decrypt(mistral.litellmParams.custom_llm_provider)).toEqual({ ok: false, reason: 'wrong-key' });
    expect(decryptNested(String(mistral.litellmParams.custom_llm_provider), deriveKeys(lab.otherSaltKey))).toMatchObject({ ok: true, plaintext: 'ollama_chat' });
    expect(keep(await db.adminUser())).toEqual({ userId: 'default_user_id', exists: false, role: null, isProxyAdmin: false });
  });

  it('a value written with labops\' encryptValue is read by the (independent) proxy: the repair works', async () => {
    const keys = deriveKeys(lab.saltKey);
    await lab.db.query(
      `UPDATE "LiteLLM_ProxyModelTable" SET litellm_params = jsonb_set(litellm_params, '{custom_llm_provider}', to_jsonb($1::text)), updated_at = now(), updated_by = 'labops' WHERE model_id = 'db-mistral-0002'`,
      [encryptValue('ollama_chat', keys)],
    );
    expect(keep(await client.chat('chat-mistral-7b-ollama'))).toMatchObject({ ok: true, headers: { modelId: 'db-mistral-0002' } });
    await lab.db.query(`UPDATE "LiteLLM_ProxyModelTable" SET litellm_params = jsonb_set(litellm_params, '{model}', to_jsonb($1::text)) WHERE model_id = 'db-mistral-0002'`, [
      encryptValue('ollama_chat/mistral:7b', keys, 'v3-gcm'),
    ]);
    expect(keep(await client.chat('chat-mistral-7b-ollama'))).toMatchObject({ ok: true, headers: { modelId: 'db-mistral-0002' } });
  });

  it('times out on a slow proxy and gives the caller\'s abort back as it is', async () => {
    let slow: FakeLiteLLM | undefined;
    try {
      slow = await startFakeLiteLLM({ masterKey: lab.masterKey, saltKey: lab.saltKey, configPath: lab.configPath, databaseUrl: lab.db.url, delayMs: 300 });
      const slowClient = createLiteLLMClient({ baseUrl: slow.url, masterKey: lab.masterKey });
      const timedOut = keep(await slowClient.chat('chat-default', { timeoutMs: 100 }));
      expect(timedOut).toMatchObject({ ok: false, kind: 'timeout', detail: `LiteLLM at ${slow.url}: no answer in 100 ms` });
      const answered = keep(await slowClient.chat('chat-default'));
      expect(answered).toMatchObject({ ok: true });
      expect(answered.latencyMs).toBeGreaterThanOrEqual(290);

      const controller = new AbortController();
      const pending = slowClient.chat('chat-default', { signal: controller.signal });
      controller.abort(new Error('cancelled by /cancel'));
      await expect(pending).rejects.toThrow('cancelled by /cancel');
    } finally {
      await slow?.close();
    }
  });

  it('reports a proxy that is down, for every call', async () => {
    const port = await freePort();
    const down = createLiteLLMClient({ baseUrl: `http://127.0.0.1:${port}`, masterKey: lab.masterKey });
    const calls = [down.liveliness(), down.readiness(), down.models(), down.modelInfo(), down.chat('chat-default'), down.embeddings('e', 'x')];
    for (const result of await Promise.all(calls)) {
      keep(result);
      expect(result).toEqual({ ok: false, kind: 'down', detail: `LiteLLM at http://127.0.0.1:${port}: connection refused`, latencyMs: expect.any(Number) });
    }
  });

  it('never puts a secret in a result', () => {
    const text = JSON.stringify(results);
    expect(results.length).toBeGreaterThan(20);
    for (const secret of [lab.masterKey, lab.saltKey, lab.otherSaltKey, lab.upstreamApiKey, WRONG_KEY]) expect(text).not.toContain(secret);
  });
});
