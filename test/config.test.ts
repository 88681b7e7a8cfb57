import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../src/config/load.js';
import { EXAMPLE_CONFIG } from '../src/core/paths.js';
import { redact } from '../src/core/redact.js';
import { runCli } from './support/cli.js';

const minimal = (engine: string) => `
hosts:
  gpu-1:
    models:
      chat-hermes-3-llama-3.1-8b:
        type: chat
        engine: ${engine}
`;

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, 'labops.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config', () => {
  it('the shipped example mirrors the lab and validates', () => {
    const { config } = loadConfig(EXAMPLE_CONFIG, {});
    const models = config.hosts['gpu-1']!.models;
    expect(Object.keys(models)).toEqual(
      expect.arrayContaining(['litellm', 'chat-hermes-3-llama-3.1-8b', 'chat-qwen2.5-0.5b-vllm', 'chat-mistral-7b-ollama', 'vision-qwen3-vl-4b-ollama', 'embeddings-default']),
    );
    expect(models['chat-hermes-3-llama-3.1-8b']!.aliases).toEqual(['chat-hermes']);
    expect(models['chat-hermes-3-llama-3.1-8b']!.engine).toMatchObject({ kind: 'script', start: 'bin/start_llamacpp.sh' });
    expect(models['embeddings-default']!.engine).toEqual({ kind: 'systemd', unit: 'litellm-embed-arctic.service' });
    expect(models.litellm!.engine).toEqual({ kind: 'systemd', unit: 'litellm.service' });
    expect(config.litellm.groups['chat-default']).toMatchObject({ servedBy: 'chat-hermes-3-llama-3.1-8b', fallbacks: ['qwen3-coder-480b-cloud'] });
  });

  it('names the key path and the choices for a misspelt engine kind', () => {
    expect(problems(minimal('{ kind: sytemd, unit: x.service }'))).toEqual([
      'hosts.gpu-1.models.chat-hermes-3-llama-3.1-8b.engine.kind: expected one of systemd | script | ollama | docker, got "sytemd"',
    ]);
  });

  it('names unknown keys with the keys it expected', () => {
    const [problem] = problems(`${minimal('{ kind: systemd, unit: x.service }')}        vramMib: 100\n`);
    expect(problem).toMatch(/^hosts\.gpu-1\.models\.chat-hermes-3-llama-3\.1-8b: unknown key "vramMib" \(expected .*vramMiB/);
  });

  it('says which type it expected and what it got', () => {
    expect(problems(`${minimal('{ kind: systemd, unit: x.service }')}        vramMiB: lots\n`)).toEqual([
      'hosts.gpu-1.models.chat-hermes-3-llama-3.1-8b.vramMiB: expected number, got "lots"',
    ]);
    expect(problems(`${minimal('{ kind: systemd, unit: x.service }')}        idleTtl: soon\n`)[0]).toMatch(/idleTtl: expected a duration such as 30s, 5m or 1h, got "soon"/);
  });

  it('reads env: and os.environ/ references from the environment and redacts them', () => {
    const yaml = `litellm:\n  masterKey: env:LAB_MASTER\n  saltKey: os.environ/LAB_SALT\n${minimal('{ kind: systemd, unit: x.service }')}`;
    const config = parseConfig(yaml, 'labops.yaml', { LAB_MASTER: 'sk-master-123456', LAB_SALT: 'salty-salt-value' });
    expect(config.litellm.masterKey).toBe('sk-master-123456');
    expect(config.litellm.saltKey).toBe('salty-salt-value');
    expect(redact('key=salty-salt-value and sk-master-123456')).toBe('key=*** and ***');
  });

  it('says when a required value comes from an unset variable', () => {
    const yaml = minimal('{ kind: systemd, unit: env:UNIT_NAME }');
    expect(problems(yaml, {})).toEqual([
      'hosts.gpu-1.models.chat-hermes-3-llama-3.1-8b.engine.unit: environment variable UNIT_NAME is not set (env:UNIT_NAME says the value must come from it; labops does not fall back to a default)',
    ]);
  });

  it('refuses names that could reach a shell or a queue name badly', () => {
    const yaml = `hosts:\n  "gpu 1; rm -rf /":\n    models: {}\n`;
    expect(problems(yaml)[0]).toMatch(/^hosts\.gpu 1; rm -rf \/: .*expected a host name/);
  });

  it('refuses an alias that already names another model', () => {
    const yaml = `hosts:
  gpu-1:
    models:
      chat-a: { type: chat, aliases: [chat], engine: { kind: systemd, unit: a.service } }
      chat-b: { type: chat, aliases: [chat], engine: { kind: systemd, unit: b.service } }
`;
    expect(problems(yaml)).toEqual(['hosts.gpu-1.models.chat-b.aliases: "chat" already names chat-a']);
  });

  it('`labops config check` exits 0 for a good file and 2 with the message for a bad one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labops-config-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, minimal('{ kind: sytemd, unit: x.service }'));
    const good = await runCli(['config', 'check', EXAMPLE_CONFIG], process.env);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/ok — 1 host, 6 models/);
    const result = await runCli(['config', 'check', bad], process.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('hosts.gpu-1.models.chat-hermes-3-llama-3.1-8b.engine.kind: expected one of systemd | script | ollama | docker, got "sytemd"');
    const missing = await runCli(['config', 'check', join(dir, 'nope.yaml')], process.env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: cannot read the file \(ENOENT\)/);
  });
});

describe('config hardening', () => {
  const engine = '{ kind: systemd, unit: llama.service }';

  it('bounds every duration, with a clear message (Node timers cannot wait longer than 24.8 days)', () => {
    const withHealth = (startTimeout: string) => minimal(engine).replace('        type: chat\n', `        type: chat\n        health: { url: "http://127.0.0.1:8080/health", startTimeout: ${startTimeout} }\n`);
    expect(problems(withHealth('25d'))).toEqual(['hosts.gpu-1.models.chat-hermes-3-llama-3.1-8b.health.startTimeout: expected a duration from 1 s to 24 h, got "25d"']);
    expect(problems(withHealth('.inf'))).toEqual(['hosts.gpu-1.models.chat-hermes-3-llama-3.1-8b.health.startTimeout: expected a duration such as 30s, 5m or 1h, got Infinity']);
    expect(problems(`worker: { shutdownTimeout: 30d }\n${minimal(engine)}`)).toEqual(['worker.shutdownTimeout: expected a duration from 0 s to 1 h, got "30d"']);
  });

  it('an unset env: reference never falls back to a default', () => {
    expect(problems(`redis: { url: env:NOPE_UNSET }\n${minimal(engine)}`)).toEqual([
      'redis.url: environment variable NOPE_UNSET is not set (env:NOPE_UNSET says the value must come from it; labops does not fall back to a default)',
    ]);
    // an override supplies it: fine
    expect(problems(`redis: { url: env:NOPE_UNSET }\n${minimal(engine)}`, { LABOPS_REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([]);
  });

  it("a feature's unset variables are warnings, and the shipped example still loads without them", () => {
    const warnings: string[] = [];
    parseConfig(`litellm: { saltKey: env:LITELLM_SALT_KEY }\n${minimal(engine)}`, 'labops.yaml', {}, warnings);
    expect(warnings).toEqual(['litellm.saltKey: environment variable LITELLM_SALT_KEY is not set; what needs it says so when it is used']);
    expect(loadConfig(EXAMPLE_CONFIG, {}).warnings.length).toBeGreaterThan(0);
  });

  it('config check names a twoPersonConfirm entry that is not a command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labops-config-'));
    const file = join(dir, 'labops.yaml');
    writeFileSync(file, `discord: { twoPersonConfirm: [stpo, "/stop", repair] }\n${minimal(engine)}`);
    const result = await runCli(['config', 'check', file], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('discord.twoPersonConfirm.0: "stpo" is not a labops command; expected one of stop');
    expect(result.stderr).toContain('discord.twoPersonConfirm.1: "/stop" is not a labops command (write it without the slash: stop)');
    expect(result.stderr).not.toContain('twoPersonConfirm.2');
  });

  it('host names are not case-sensitive', () => {
    const config = parseConfig(minimal(engine), 'labops.yaml', {});
    expect(config.hosts['gpu-1']).toBeDefined();
  });
});
