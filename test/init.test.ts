import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMap, parseDocument, type Pair, type Scalar, type YAMLMap } from 'yaml';
import { runCli, startWorkerProcess, type CliProcess } from './support/cli.js';
import { DATABASE_URL, dropSchema, deleteKeys, uniqueName } from './support/env.js';
import { FAKE_SYSTEMD_BIN } from './support/engines-helpers.js';
import { createInitLab, type InitLab } from './support/init-lab.js';

interface WrittenModel {
  type: string;
  aliases?: string[];
  engine: Record<string, string>;
  health?: Record<string, string>;
  vramMiB?: number;
  idleTtl?: string;
  pinned?: boolean;
  litellmName?: string;
}

interface StatusJson {
  data: { hosts: { host: string; online: boolean; snapshot: { models: { name: string; state: string }[] } | null }[] };
}

describe('labops init on a stand-in GPU host', () => {
  let lab: InitLab;
  let out: string;
  let init: { code: number | null; stdout: string; stderr: string };
  let text: string;
  let models: Record<string, WrittenModel>;
  let callsBefore: number;
  let initCalls: string[][];

  beforeAll(async () => {
    lab = await createInitLab();
    out = join(lab.dir, 'labops.yaml');
    callsBefore = lab.systemctlCalls().length;
    init = await runCli(['init', '--out', out, '--host', 'gpu-1'], lab.env, { timeoutMs: 30_000 });
    initCalls = lab.systemctlCalls().slice(callsBefore);
    text = existsSync(out) ? readFileSync(out, 'utf8') : '';
    const parsed = parseDocument(text).toJS() as { hosts?: Record<string, { models: Record<string, WrittenModel> }> };
    models = parsed.hosts?.['gpu-1']?.models ?? {};
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('writes a file that `labops config check` accepts', async () => {
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/Wrote .*labops\.yaml: 8 models on host gpu-1/);
    const check = await runCli(['config', 'check', out], lab.env);
    expect(check.stderr).not.toMatch(/Invalid/);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/ok — 1 host, 8 models/);
  });

  it('names every model of LiteLLM, its database and Ollama as [type]-[name]-[engine], keeping the old names', () => {
    expect(Object.keys(models).sort()).toEqual(
      [
        'litellm',
        'chat-hermes-3-llama-3.1-8b-llamacpp',
        'chat-qwen2.5-0.5b-vllm',
        'embeddings-snowflake-arctic-embed-m-tei',
        'chat-mistral-7b-ollama',
        'vision-qwen3-vl-4b-ollama',
        'rerank-bge',
        'chat-llama3.2-1b-ollama',
      ].sort(),
    );
    // the old LiteLLM names are aliases, and the name LiteLLM knows it by is kept
    expect(models['chat-hermes-3-llama-3.1-8b-llamacpp']).toMatchObject({ aliases: ['chat-default', 'llamacpp-local'], litellmName: 'chat-default', type: 'chat', idleTtl: '30m' });
    // from LiteLLM's database, decrypted: its api_base says which unit serves it
    expect(models['chat-qwen2.5-0.5b-vllm']).toMatchObject({ aliases: ['vllm-qwen2.5-0.5b-instruct'], litellmName: 'vllm-qwen2.5-0.5b-instruct', idleTtl: '30m' });
    expect(models['embeddings-snowflake-arctic-embed-m-tei']).toMatchObject({ type: 'embeddings', aliases: ['arctic-embed'] });
    expect(models['embeddings-snowflake-arctic-embed-m-tei']!.idleTtl).toBeUndefined();
    expect(models['vision-qwen3-vl-4b-ollama']).toMatchObject({ type: 'vision', engine: { kind: 'ollama', url: lab.ollama.url, model: 'qwen3-vl:4b' } });
    expect(models['chat-mistral-7b-ollama']).toMatchObject({ aliases: ['ollama-mistral'], engine: { kind: 'ollama', model: 'mistral:7b' }, vramMiB: 5200 });
    expect(models.litellm).toMatchObject({ type: 'proxy', pinned: true, engine: { kind: 'systemd', unit: 'litellm.service' }, health: { url: `http://127.0.0.1:${lab.ports.proxy}/health/liveliness` } });
  });

  it('matches every unit to what it serves by the port of its api_base, its start script included', () => {
    const engines = Object.values(models).map((m) => m.engine);
    for (const unit of ['litellm.service', 'llama-hermes.service', 'vllm-qwen2.5-0.5b.service', 'litellm-embed-arctic.service']) {
      expect(engines).toContainEqual({ kind: 'systemd', unit });
    }
    // the ollama unit serves the Ollama models
    expect(init.stdout).toMatch(/ollama\.service +inactive, enabled +the Ollama server on port \d+/);
    expect(init.stdout).not.toMatch(/not matched to a model/);
    // health from the server kind: llama-server and TEI /health, vLLM /v1/models with its model
    expect(models['chat-hermes-3-llama-3.1-8b-llamacpp']!.health).toEqual({ url: `http://127.0.0.1:${lab.ports.hermes}/health` });
    expect(models['embeddings-snowflake-arctic-embed-m-tei']!.health).toEqual({ url: `http://localhost:${lab.ports.embed}/health` });
    expect(models['chat-qwen2.5-0.5b-vllm']!.health).toEqual({ modelsUrl: `http://127.0.0.1:${lab.ports.qwen}/v1/models`, id: 'Qwen/Qwen2.5-0.5B-Instruct' });
    // the VRAM nvidia-smi gives the units' processes
    expect(models['chat-hermes-3-llama-3.1-8b-llamacpp']!.vramMiB).toBe(lab.vram.hermes);
    expect(models['chat-qwen2.5-0.5b-vllm']!.vramMiB).toBe(lab.vram.qwen);
  });

  it('asks systemd for the unit files once and for all their properties in one call', () => {
    const calls = initCalls;
    expect(calls).toHaveLength(2);
    expect(calls[0]!.slice(0, 3)).toEqual(['--user', 'list-unit-files', '--type=service']);
    expect(calls[1]!.slice(0, 4)).toEqual(['--user', 'show', '-p', 'Id,ExecStart,ActiveState,UnitFileState,MainPID,FragmentPath,Environment,WorkingDirectory']);
    expect(calls[1]!.filter((a) => a.endsWith('.service')).sort()).toEqual([...lab.units].sort());
  });

  it('writes what it could not decide as a comment beside the entry', () => {
    const doc = parseDocument(text);
    const modelsMap = doc.getIn(['hosts', 'gpu-1', 'models'], true) as YAMLMap;
    const commentOf = (name: string) => ((modelsMap.items as Pair<Scalar>[]).find((p) => p.key.value === name)!.key.commentBefore ?? '').trim();
    expect(commentOf('rerank-bge')).toBe(`could not match a unit to port ${lab.ports.orphan}: say how it starts (engine kind systemd with its unit, or script with its start script and pid file)`);
    expect(commentOf('chat-llama3.2-1b-ollama')).toMatch(/in Ollama, not in LiteLLM’s model list/);
    expect(commentOf('chat-qwen2.5-0.5b-vllm')).toMatch(/custom_llm_provider is stored encrypted twice/);
    expect(isMap(doc.get('litellm', true))).toBe(true);
    // a literal master key in config.yaml becomes an env: reference with a comment that says what to export
    expect(doc.getIn(['litellm', 'masterKey'])).toBe('env:LITELLM_MASTER_KEY');
    expect((doc.getIn(['litellm', 'masterKey'], true) as Scalar).comment).toMatch(/config\.yaml holds the master key itself: export LITELLM_MASTER_KEY=/);
    expect(doc.getIn(['litellm', 'databaseUrl'])).toBe('env:DATABASE_URL');
    expect(doc.getIn(['litellm', 'saltKey'])).toBe('env:LITELLM_SALT_KEY');
    expect(doc.getIn(['litellm', 'configPath'])).toBe(lab.litellmConfig);
    expect((doc.getIn(['litellm', 'groups']) as YAMLMap).toJSON()).toEqual({
      'chat-default': { servedBy: 'chat-hermes-3-llama-3.1-8b-llamacpp', fallbacks: ['qwen3-coder-480b-cloud'] },
      'qwen3-coder-480b-cloud': { cloud: true },
      'llamacpp-local': { servedBy: 'chat-hermes-3-llama-3.1-8b-llamacpp', fallbacks: ['chat-default'] },
    });
  });

  it('carries no secret value: not the master key, the salt key, an api_key or the database URL', () => {
    for (const secret of lab.secrets) {
      expect(text).not.toContain(secret);
      expect(init.stdout + init.stderr).not.toContain(secret);
    }
  });

  it('never overwrites a file, and --dry-run prints the file and what was found where without writing', async () => {
    const before = readFileSync(out, 'utf8');
    const again = await runCli(['init', '--out', out, '--host', 'gpu-1'], lab.env, { timeoutMs: 30_000 });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/labops\.yaml already exists, and init never overwrites a file\.\n→ Give another --out/);
    expect(readFileSync(out, 'utf8')).toBe(before);

    const dry = join(lab.dir, 'dry.yaml');
    const preview = await runCli(['init', '--dry-run', '--out', dry, '--host', 'gpu-1'], lab.env, { timeoutMs: 30_000 });
    expect(preview.code).toBe(0);
    expect(existsSync(dry)).toBe(false);
    expect(preview.stdout).toMatch(/^# labops configuration of gpu-1, written by `labops init`/);
    expect(preview.stdout).toContain('chat-qwen2.5-0.5b-vllm:');
    expect(preview.stdout).toMatch(new RegExp(`LiteLLM config: +${lab.litellmConfig.replace(/[.]/g, '\\.')} \\(litellm\\.service: --config\\)`));
    expect(preview.stdout).toMatch(/LiteLLM database: +\$DATABASE_URL — LiteLLM's database .*: 2 models/);
    expect(preview.stdout).toMatch(/chat-hermes-3-llama-3\.1-8b-llamacpp +chat +systemd llama-hermes\.service +\d+ +chat-default, llamacpp-local +9216 MiB/);
    expect(preview.stdout).toMatch(/embeddings-snowflake-arctic-embed-m-tei +embeddings +systemd litellm-embed-arctic\.service → start_embed\.sh/);
  });

  it('`labops worker` on the written file answers /status with the discovered models running', async () => {
    const prefix = uniqueName('li');
    const schema = uniqueName('li');
    const env = { ...lab.env, LABOPS_CONFIG: out, LABOPS_REDIS_PREFIX: prefix, LABOPS_DATABASE_URL: DATABASE_URL, LABOPS_DATABASE_SCHEMA: schema };
    let worker: CliProcess | undefined;
    try {
      worker = await startWorkerProcess({ env, prefix });
      let status: StatusJson | undefined;
      await expect
        .poll(
          async () => {
            const r = await runCli(['exec', '/status', '--json'], env);
            status = JSON.parse(r.stdout) as StatusJson;
            return status.data.hosts[0]?.snapshot?.models.length ?? 0;
          },
          { timeout: 15_000, interval: 250 },
        )
        .toBe(8);
      const states = Object.fromEntries(status!.data.hosts[0]!.snapshot!.models.map((m) => [m.name, m.state]));
      expect(states).toMatchObject({
        litellm: 'running',
        'chat-hermes-3-llama-3.1-8b-llamacpp': 'running',
        'chat-qwen2.5-0.5b-vllm': 'running',
        'embeddings-snowflake-arctic-embed-m-tei': 'running',
        'chat-mistral-7b-ollama': 'running',
        'vision-qwen3-vl-4b-ollama': 'stopped',
        'chat-llama3.2-1b-ollama': 'stopped',
        'rerank-bge': 'stopped',
      });
    } finally {
      await worker?.stop();
      await deleteKeys(prefix);
      await dropSchema(schema);
    }
  });
});

describe('labops init without a LiteLLM, systemd or GPU', () => {
  it('finds nothing, says so and writes nothing (exit 1); a --litellm-config that is not there is a usage error', async () => {
    const lab = emptyHost();
    try {
      const out = join(lab.dir, 'labops.yaml');
      const r = await runCli(['init', '--out', out], lab.env, { timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/labops init found nothing to write on this host/);
      expect(existsSync(out)).toBe(false);

      const missing = await runCli(['init', '--out', out, '--litellm-config', join(lab.dir, 'nope.yaml')], lab.env, { timeoutMs: 30_000 });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--litellm-config .*nope\.yaml: file not found/);

      const config = join(lab.dir, 'config.yaml');
      writeFileSync(
        config,
        'model_list:\n  - model_name: gpt-4o\n    litellm_params: { model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY }\n' +
          'general_settings: { store_model_in_db: true, database_url: os.environ/LITELLM_DB, master_key: os.environ/PROXY_KEY }\n',
      );
      const given = await runCli(['init', '--dry-run', '--litellm-config', config, '--host', 'gpu-1'], lab.env, { timeoutMs: 30_000 });
      expect(given.code).toBe(0);
      expect(given.stdout).toMatch(/groups:\n +gpt-4o:\n +cloud: true/);
      expect(given.stdout).toMatch(/LiteLLM config: +\S+config\.yaml \(--litellm-config\)/);
      expect(given.stdout).toMatch(/masterKey: env:PROXY_KEY\n +saltKey: env:LITELLM_SALT_KEY .*\n +databaseUrl: env:LITELLM_DB\n/);
      expect(given.stdout).toContain('# LiteLLM keeps models in its database too, but they were not read (LITELLM_DB is not set in this shell): run init again with LITELLM_DB and LITELLM_SALT_KEY set to add them');
    } finally {
      lab.cleanup();
    }
  });
});

/** A host with systemd but no units, no nvidia-smi, no Ollama and no LiteLLM. */
function emptyHost(): { dir: string; env: NodeJS.ProcessEnv; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'labops-init-empty-'));
  const bin = join(dir, 'bin');
  mkdirSync(join(dir, 'home', '.config', 'systemd', 'user'), { recursive: true });
  mkdirSync(join(dir, 'run'));
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(join(FAKE_SYSTEMD_BIN, 'systemctl'), join(bin, 'systemctl'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'home', '.config'), XDG_RUNTIME_DIR: join(dir, 'run'), PATH: bin };
  delete env.DATABASE_URL;
  delete env.LITELLM_SALT_KEY;
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
