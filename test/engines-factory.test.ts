import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { createEngine, DockerEngine, OllamaEngine, ScriptEngine, SystemdEngine } from '../src/engines/index.js';
import { modelRef } from './support/engines-helpers.js';

const logger = silentLogger();

describe('createEngine', () => {
  it('builds the engine of the model’s kind', () => {
    expect(createEngine(modelRef('a', { kind: 'systemd', unit: 'llama.service' }), { logger })).toBeInstanceOf(SystemdEngine);
    expect(createEngine(modelRef('b', { kind: 'ollama', model: 'mistral:7b' }), { logger })).toBeInstanceOf(OllamaEngine);
    expect(createEngine(modelRef('c', { kind: 'docker', container: 'embed' }), { logger })).toBeInstanceOf(DockerEngine);
    expect(createEngine(modelRef('d', { kind: 'script', start: 'bin/start.sh', pidFile: 'run/d.pid' }), { logger })).toBeInstanceOf(ScriptEngine);
  });

  it('resolves script paths against cwd and puts an unnamed log in the state dir', () => {
    const engine = createEngine(modelRef('chat-hermes', { kind: 'script', cwd: '/home/lab/llm', start: 'bin/start_llamacpp.sh', stop: '/opt/stop.sh', pidFile: 'run/llamacpp.pid' }), {
      logger,
      stateDir: '/var/lib/labops',
    }) as ScriptEngine;
    expect(engine.startPath).toBe('/home/lab/llm/bin/start_llamacpp.sh');
    expect(engine.stopPath).toBe('/opt/stop.sh');
    expect(engine.pidFile).toBe('/home/lab/llm/run/llamacpp.pid');
    expect(engine.logFile).toBe(join('/var/lib/labops', 'test-host.chat-hermes.log'));

    const defaulted = createEngine(modelRef('m', { kind: 'script', start: '/x.sh', pidFile: '/x.pid' }), { logger, env: { HOME: '/home/lab' } }) as ScriptEngine;
    expect(defaulted.logFile).toBe('/home/lab/.local/state/labops/test-host.m.log');
  });
});
