import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isUserError } from '../src/core/errors.js';
import { parseLiteLLMConfig, readLiteLLMConfig } from '../src/litellm/config-file.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/litellm/config.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'labops-litellm-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function readError(path: string): Promise<Error> {
  const err = await readLiteLLMConfig(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isUserError(err), String(err)).toBe(true);
  return err as Error;
}

describe('readLiteLLMConfig on the lab config', () => {
  it('lists every model with its params, info and line', async () => {
    const config = await readLiteLLMConfig(FIXTURE);
    expect(config.problems).toEqual([]);
    expect(config.models.map((m) => m.modelName)).toEqual([
      'chat-default',
      'chat-hermes-3-llama-3.1-8b',
      'llamacpp-local',
      'chat-qwen2.5-0.5b-vllm',
      'ollama-mistral',
      'vision-qwen3-vl-4b-ollama',
      'embeddings-arctic-embed-m',
      'qwen3-coder-480b-cloud',
    ]);
    const chatDefault = config.models[0]!;
    expect(chatDefault).toMatchObject({
      litellmParams: { model: 'openai/hermes-3-llama-3.1-8b', api_base: 'http://127.0.0.1:8080/v1', timeout: 120, rpm: 30 },
      modelInfo: { id: 'chat-default-hermes', mode: 'chat' },
      line: 6,
    });
    const vision = config.models.find((m) => m.modelName === 'vision-qwen3-vl-4b-ollama')!;
    expect(vision.litellmParams.max_tokens).toBe(4096);
    expect(vision.modelInfo).toEqual({ mode: 'chat', supports_vision: true });
    expect(config.models.find((m) => m.modelName === 'llamacpp-local')!.modelInfo).toBeUndefined();
  });

  it('reads fallbacks, context-window fallbacks and aliases from both settings sections', async () => {
    const config = await readLiteLLMConfig(FIXTURE);
    expect(config.routerSettings).toEqual({
      fallbacks: [
        { from: 'chat-default', to: ['qwen3-coder-480b-cloud'] },
        { from: 'llamacpp-local', to: ['chat-hermes-3-llama-3.1-8b', 'qwen3-coder-480b-cloud'] },
      ],
      contextWindowFallbacks: [{ from: 'chat-qwen2.5-0.5b-vllm', to: ['chat-default'] }],
      modelGroupAlias: { 'chat-hermes': 'chat-hermes-3-llama-3.1-8b', 'chat-mistral-7b-ollama': 'ollama-mistral' },
    });
    expect(config.litellmSettings).toEqual({ fallbacks: [{ from: 'ollama-mistral', to: ['chat-default'] }], contextWindowFallbacks: [], modelGroupAlias: {} });
  });

  it('says whether the master key is set and where from, never its value', async () => {
    const config = await readLiteLLMConfig(FIXTURE);
    expect(config.storeModelInDb).toBe(true);
    expect(config.masterKey).toEqual({ source: 'env', name: 'LITELLM_MASTER_KEY' });
    expect(config.databaseUrl).toEqual({ source: 'env', name: 'DATABASE_URL' });
    // a literal api_key is masked, an environment reference is kept
    expect(config.models.find((m) => m.modelName === 'embeddings-arctic-embed-m')!.litellmParams.api_key).toBe('***');
    expect(config.models.find((m) => m.modelName === 'qwen3-coder-480b-cloud')!.litellmParams.api_key).toBe('os.environ/OPENROUTER_API_KEY');
    expect(JSON.stringify(config)).not.toContain('sk-local-embedder');
  });
});

describe('parseLiteLLMConfig', () => {
  it('reports a literal master key without its value', () => {
    const secret = 'sk-master-literal-123456789';
    const config = parseLiteLLMConfig(
      `general_settings:\n  master_key: ${secret}\n  database_url: postgresql://llm:pw-db-secret@db:5432/litellm\n  store_model_in_db: "True"\n`,
      'inline.yaml',
    );
    expect(config.masterKey).toEqual({ source: 'literal' });
    expect(config.databaseUrl).toEqual({ source: 'literal' });
    expect(config.storeModelInDb).toBe(true);
    expect(config.models).toEqual([]);
    expect(JSON.stringify(config)).not.toContain(secret);
    expect(JSON.stringify(config)).not.toContain('pw-db-secret');
  });

  it('reads an empty file as a config without models or settings', () => {
    const config = parseLiteLLMConfig('# nothing yet\n', 'empty.yaml');
    expect(config).toMatchObject({ models: [], storeModelInDb: undefined, masterKey: { source: 'unset' }, problems: [] });
    expect(config.routerSettings).toEqual({ fallbacks: [], contextWindowFallbacks: [], modelGroupAlias: {} });
  });

  it('names entries that are not shaped as LiteLLM expects, with their line, and keeps the rest', () => {
    const config = parseLiteLLMConfig(
      [
        'model_list:',
        '  - model_name: good',
        '    litellm_params: {model: openai/x}',
        '  - litellm_params: {model: openai/y}',
        '  - model_name: no-params',
        '  - just a string',
        'router_settings:',
        '  fallbacks: {good: other}',
        '  model_group_alias: {a: {hidden: true}}',
        '  context_window_fallbacks: [plain]',
      ].join('\n'),
      'odd.yaml',
    );
    expect(config.models.map((m) => m.modelName)).toEqual(['good']);
    expect(config.routerSettings.fallbacks).toEqual([{ from: 'good', to: ['other'] }]);
    expect(config.problems).toEqual([
      'line 4: model_list entry without model_name',
      'line 5: no-params: litellm_params is missing or not a mapping',
      'line 6: model_list entry is not a mapping',
      'router_settings.context_window_fallbacks: "plain" is not a mapping of a group to its fallbacks',
      'router_settings.model_group_alias: a does not name a model group',
    ]);
  });
});

describe('readLiteLLMConfig errors', () => {
  it('names the path of a missing file', async () => {
    const path = join(dir, 'missing.yaml');
    expect((await readError(path)).message).toBe(`LiteLLM config ${path}: file not found`);
  });

  it('names the path of something that cannot be read as a file', async () => {
    expect((await readError(dir)).message).toBe(`LiteLLM config ${dir}: is a directory`);
  });

  it('names the path and the line of a YAML error', async () => {
    const path = write('broken.yaml', 'model_list:\n  - model_name: a\n    litellm_params: {model: [unclosed\n');
    const message = (await readError(path)).message;
    expect(message).toMatch(new RegExp(`^LiteLLM config ${path}: YAML error: .*line \\d+`));
  });

  it('refuses a file whose top level is not a mapping', async () => {
    const path = write('list.yaml', '- a\n- b\n');
    expect((await readError(path)).message).toBe(`LiteLLM config ${path}: the top level is not a mapping`);
  });
});
