import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { analyzeCommand, splitShellWords } from '../src/init/command-line.js';
import { coreName, conventionalName, followsConvention, modelType } from '../src/init/naming.js';
import { analyzeScript } from '../src/init/scripts.js';
import { parseExecStart, parseShowOutput, parseUnitFileList, UNIT_PROPERTIES } from '../src/init/units.js';
import { whereServed } from '../src/init/address.js';
import { FAKE_SYSTEMD_BIN } from './support/engines-helpers.js';

describe('reading a model server command line (never running it)', () => {
  it.each([
    [['/opt/llama.cpp/llama-server', '-m', '/m/Hermes-3-Llama-3.1-8B.Q8_0.gguf', '--port', '8080'], { kind: 'llamacpp', ports: [8080], model: '/m/Hermes-3-Llama-3.1-8B.Q8_0.gguf' }],
    [['/usr/bin/llama-server', '-hf', 'bartowski/Qwen2.5-7B-Instruct-GGUF', '--host', '0.0.0.0:8091'], { kind: 'llamacpp', ports: [8091], model: 'bartowski/Qwen2.5-7B-Instruct-GGUF' }],
    [['/usr/bin/llama-server', '-m', 'x.gguf'], { kind: 'llamacpp', ports: [8080], portGiven: false }],
    [['/venv/bin/vllm', 'serve', 'Qwen/Qwen2.5-0.5B-Instruct', '--port=8000', '--served-model-name', 'qwen'], { kind: 'vllm', ports: [8000], model: 'Qwen/Qwen2.5-0.5B-Instruct', servedName: 'qwen' }],
    [['/usr/bin/python3', '-m', 'vllm.entrypoints.openai.api_server', '--model', 'meta-llama/Llama-3.1-8B-Instruct', '-p', '8002'], { kind: 'vllm', ports: [8002], model: 'meta-llama/Llama-3.1-8B-Instruct' }],
    [['/usr/local/bin/text-embeddings-router', '--model-id', 'BAAI/bge-m3', '--port', '${PORT}'], { kind: 'tei', ports: [8091], model: 'BAAI/bge-m3' }],
    [['/usr/local/bin/ollama', 'serve'], { kind: 'ollama', ports: [11500] }],
    [['/home/lab/.local/bin/litellm', '--config', 'config.yaml', '--port', '4000'], { kind: 'litellm', ports: [4000], configPath: 'config.yaml' }],
    [['/usr/bin/env', 'CUDA_VISIBLE_DEVICES=1', '/opt/llama-server', '--port', '9000'], { kind: 'llamacpp', ports: [9000] }],
    [['/bin/bash', '-c', 'cd /srv && exec ./llama-server -m a.gguf --port 8085 # local'], { kind: 'llamacpp', ports: [8085] }],
    [['/usr/bin/python3', 'serve.py', '--listen', ':7001'], { kind: 'unknown', ports: [7001] }],
    [['/usr/bin/python3', 'serve.py', '127.0.0.1:7002'], { kind: 'unknown', ports: [7002] }],
  ])('%j', (argv, expected) => {
    expect(analyzeCommand(argv, { PORT: '8091', OLLAMA_HOST: '127.0.0.1:11500' })).toMatchObject(expected);
  });

  it('takes no Ollama tag, model file or unknown variable for a port', () => {
    expect(analyzeCommand(['/usr/bin/python3', 'x.py', 'mistral:7b', '--port', '$NOPE']).ports).toEqual([]);
  });

  it('reads a start script: its assignments fill the server line, other lines are ignored', () => {
    const script = [
      '#!/bin/bash',
      'set -euo pipefail',
      'export CUDA_VISIBLE_DEVICES=0',
      'MODEL="/home/lab/models/Hermes 3.gguf"',
      ': "${PORT:=8080}"',
      'cd "$(dirname "$0")/.."',
      'echo "starting on $PORT" >> logs/start.log',
      'exec /opt/llama.cpp/llama-server \\',
      '  -m "$MODEL" --port "$PORT" \\',
      '  -ngl 99',
    ].join('\n');
    expect(analyzeScript(script)).toMatchObject({ kind: 'llamacpp', ports: [8080], model: '/home/lab/models/Hermes 3.gguf' });
    expect(analyzeScript('#!/bin/sh\nPORT=9100\nexec python3 my_server.py --port $PORT\n')).toMatchObject({ kind: 'unknown', ports: [9100] });
  });

  it('splits like a shell, for reading only', () => {
    expect(splitShellWords(`a "b c" 'd $e' f\\ g; h # i`)).toEqual(['a', 'b c', 'd $e', 'f g', ';', 'h']);
  });
});

describe('what systemctl --user prints', () => {
  it('reads `show` of several units: blocks separated by a blank line, ExecStart in systemd’s form', () => {
    const text = [
      'Id=llama.service',
      'ExecStart={ path=/opt/llama-server ; argv[]=/opt/llama-server -m /m/a.gguf --port 8080 ; ignore_errors=no ; start_time=[Mon 2026-11-30 10:00:00 UTC] ; stop_time=[n/a] ; pid=4242 ; code=(null) ; status=0/0 }',
      'ActiveState=active',
      'UnitFileState=disabled',
      'MainPID=4242',
      'FragmentPath=/home/lab/.config/systemd/user/llama.service',
      'Environment=CUDA_VISIBLE_DEVICES=0 HF_HOME=/srv/hf',
      'WorkingDirectory=!/srv',
      '',
      'Id=dbus.service',
      'ExecStart={ path=/usr/bin/dbus-daemon ; argv[]=/usr/bin/dbus-daemon --session ; flags= ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }',
      'ActiveState=inactive',
      'UnitFileState=static',
      'MainPID=0',
      'FragmentPath=/usr/lib/systemd/user/dbus.service',
      'Environment=',
      'WorkingDirectory=',
    ].join('\n');
    const [llama, dbus] = parseShowOutput(text, ['llama.service', 'dbus.service']);
    expect(llama).toEqual({
      id: 'llama.service',
      argv: ['/opt/llama-server', '-m', '/m/a.gguf', '--port', '8080'],
      activeState: 'active',
      unitFileState: 'disabled',
      mainPid: 4242,
      fragmentPath: '/home/lab/.config/systemd/user/llama.service',
      environment: { CUDA_VISIBLE_DEVICES: '0', HF_HOME: '/srv/hf' },
      workingDirectory: '/srv',
    });
    expect(dbus).toMatchObject({ id: 'dbus.service', argv: ['/usr/bin/dbus-daemon', '--session'], mainPid: 0 });
    expect(parseExecStart('')).toEqual([]);
  });

  it('reads list-unit-files with or without its legend', () => {
    const text = 'UNIT FILE   STATE    PRESET\nllama.service  enabled  enabled\nollama@.service  disabled enabled\n\n2 unit files listed.\n';
    expect(parseUnitFileList(text)).toEqual(['llama.service', 'ollama@.service']);
  });

  describe('the stand-in systemctl answers as systemd does', () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const systemctl = (args: string[]) => spawnSync(join(FAKE_SYSTEMD_BIN, 'systemctl'), ['--user', ...args], { env, encoding: 'utf8' });
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'labops-fake-systemd-'));
      const units = join(dir, 'config', 'systemd', 'user');
      mkdirSync(units, { recursive: true });
      mkdirSync(join(dir, 'run'));
      env = { ...process.env, XDG_CONFIG_HOME: join(dir, 'config'), XDG_RUNTIME_DIR: join(dir, 'run'), HOME: dir };
      writeFileSync(join(units, 'b.service'), '[Service]\nEnvironment=PORT=8081\nExecStart=/opt/llama-server --port ${PORT}\n[Install]\nWantedBy=default.target\n');
      writeFileSync(join(units, 'a.service'), '[Service]\nExecStart=/usr/bin/true\n');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('list-unit-files and show of several units in one call', () => {
      expect(systemctl(['list-unit-files', '--type=service', '--no-legend']).stdout).toMatch(/^a\.service +static +enabled\nb\.service +disabled +enabled\n$/);
      const shown = systemctl(['show', '-p', UNIT_PROPERTIES.join(','), 'b.service', 'a.service']);
      expect(shown.status).toBe(0);
      const blocks = shown.stdout.split('\n\n');
      expect(blocks).toHaveLength(2);
      expect(blocks[0]).toMatch(/^Id=b\.service\nExecStart=\{ path=\/opt\/llama-server ; argv\[\]=\/opt\/llama-server --port \$\{PORT\} ; ignore_errors=no ; .* \}\nActiveState=inactive\nUnitFileState=disabled\n/);
      const [b, a] = parseShowOutput(shown.stdout, ['b.service', 'a.service']);
      expect(analyzeCommand(b!.argv, b!.environment).ports).toEqual([8081]);
      expect(a).toMatchObject({ id: 'a.service', argv: ['/usr/bin/true'], unitFileState: 'static' });
    });
  });
});

describe('names and types', () => {
  it.each([
    ['/m/Hermes-3-Llama-3.1-8B.Q8_0.gguf', 'chat', 'hermes-3-llama-3.1-8b'],
    ['Qwen/Qwen2.5-0.5B-Instruct', 'chat', 'qwen2.5-0.5b'],
    ['Qwen/Qwen2.5-7B-Instruct-AWQ', 'chat', 'qwen2.5-7b'],
    ['mistral:7b', 'chat', 'mistral-7b'],
    ['llama3:latest', 'chat', 'llama3'],
    ['/m/Llama-3.3-70B-Instruct-IQ4_XS-00001-of-00002.gguf', 'chat', 'llama-3.3-70b'],
    ['Snowflake/snowflake-arctic-embed-m', 'embeddings', 'snowflake-arctic-embed-m'],
  ] as const)('%s → %s', (raw, type, core) => {
    expect(coreName(raw, type)).toBe(core);
  });

  it('[type]-[name]-[engine], without saying either twice', () => {
    expect(conventionalName('chat', 'qwen2.5-0.5b', 'vllm')).toBe('chat-qwen2.5-0.5b-vllm');
    expect(conventionalName('chat', 'mistral-7b-ollama', 'ollama')).toBe('chat-mistral-7b-ollama');
    expect(conventionalName('embeddings', 'embeddings-bge-m3', 'tei')).toBe('embeddings-bge-m3-tei');
    expect(conventionalName('chat', 'x'.repeat(80), 'llamacpp')).toMatch(/^chat-x+-llamacpp$/);
    expect(conventionalName('chat', 'x'.repeat(80), 'llamacpp').length).toBeLessThanOrEqual(64);
    expect(followsConvention('chat-hermes-3-llama-3.1-8b', 'chat', 'hermes-3-llama-3.1-8b')).toBe(true);
    expect(followsConvention('chat-default', 'chat', 'hermes-3-llama-3.1-8b')).toBe(false);
  });

  it('the type from LiteLLM’s mode, else from the name (embed, vl/vision), else the server', () => {
    const t = (e: Partial<Parameters<typeof modelType>[0]>) => modelType({ modes: [], vision: false, names: [], kind: 'unknown', ...e }).type;
    expect(t({ modes: ['embedding'], names: ['chat-x'] })).toBe('embeddings');
    expect(t({ modes: ['chat'], vision: true })).toBe('vision');
    expect(t({ names: ['qwen3-vl:4b'] })).toBe('vision');
    expect(t({ names: ['llava-vision-7b'] })).toBe('vision');
    expect(t({ names: ['nomic-embed-text'] })).toBe('embeddings');
    expect(t({ modes: ['chat'], names: ['nomic-embed-text'] })).toBe('chat');
    expect(t({ names: ['bge-reranker-v2-m3'] })).toBe('rerank');
    expect(t({ kind: 'tei', names: ['bge-m3'] })).toBe('embeddings');
    expect(t({ names: ['devlin-7b'] })).toBe('chat');
  });

  it('where an api_base is served', () => {
    const local = new Set(['127.0.0.1', 'localhost', 'gpu-1', '10.0.0.5']);
    expect(whereServed('http://localhost:8080/v1', local)).toEqual({ at: 'local', host: 'localhost', port: 8080, base: 'http://localhost:8080' });
    expect(whereServed('http://10.0.0.5:8000', local)).toMatchObject({ at: 'local', port: 8000 });
    expect(whereServed('http://10.0.0.6:8000', local)).toEqual({ at: 'lan', host: '10.0.0.6' });
    expect(whereServed('http://gpu-2:8000', local)).toEqual({ at: 'lan', host: 'gpu-2' });
    expect(whereServed('https://openrouter.ai/api/v1', local)).toEqual({ at: 'cloud', host: 'openrouter.ai' });
    expect(whereServed(undefined, local, 'openrouter')).toEqual({ at: 'cloud' });
    expect(whereServed(undefined, local)).toEqual({ at: 'unknown' });
  });
});

describe('the written YAML', () => {
  it('notes are real comments, and every line is valid YAML whatever a path holds', async () => {
    const { planToYaml } = await import('../src/init/write-yaml.js');
    const text = planToYaml({
      hostName: 'gpu-1',
      user: 'ada',
      litellmNotes: [],
      hostNotes: ['user units not matched to a model: odd.service'],
      models: [
        {
          name: 'chat-x-llamacpp',
          type: 'chat',
          description: 'x.gguf\n# not: a key',
          aliases: ['x'],
          engine: { kind: 'systemd', unit: 'x.service' },
          health: { url: 'http://127.0.0.1:8080/health' },
          vramMiB: 100,
          idleTtl: '30m',
          notes: ['could not match a unit to port 8091', 'a note\nwith: a newline'],
          found: { engine: 'systemd x.service', litellm: [], vram: '–', typeFrom: '' },
        },
      ],
      sources: [],
      units: [],
    });
    const doc = parseDocument(text);
    expect(doc.errors).toEqual([]);
    expect(doc.toJS()).toMatchObject({ local: { defaultRole: 'none', users: { ada: 'admin' } }, hosts: { 'gpu-1': { models: { 'chat-x-llamacpp': { description: 'x.gguf\n# not: a key', aliases: ['x'] } } } } });
    expect(text).toMatch(/\n {6}# could not match a unit to port 8091\n {6}# a note with: a newline\n {6}chat-x-llamacpp:\n/);
    expect(text).toMatch(/engine: \{ kind: systemd, unit: x\.service \}/);
    expect(text).toMatch(/# user units not matched to a model: odd\.service\n {4}models:/);
  });
});
