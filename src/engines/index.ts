import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ModelRef } from '../config/inventory.js';
import type { Logger } from '../core/logger.js';
import type { Env } from './command.js';
import { engineEnv } from './environment.js';
import { DockerEngine } from './docker.js';
import type { Engine } from './engine.js';
import { OllamaEngine } from './ollama.js';
import { ScriptEngine } from './script.js';
import { SystemdEngine } from './systemd.js';

export type { Engine, EngineState, ModelState } from './engine.js';
export { DockerEngine } from './docker.js';
export { OllamaEngine } from './ollama.js';
export { ScriptEngine } from './script.js';
export { SystemdEngine } from './systemd.js';
export { probeHealth, waitHealthy, type HealthResult, type WaitOptions } from './health.js';

export interface EngineOptions {
  logger: Logger;
  /** the environment of the commands engines run; default: the worker's, without what is not needed (see environment.ts) */
  env?: Env;
  /** where script logs go when the config names none; default $XDG_STATE_HOME/labops */
  stateDir?: string;
}

/** The engine that starts, stops and observes one model of the inventory. */
export function createEngine(ref: ModelRef, opts: EngineOptions): Engine {
  const config = ref.model.engine;
  const logger = opts.logger.child({ model: ref.name, engine: config.kind });
  const env = opts.env ?? engineEnv();
  const startTimeoutMs = ref.model.health?.startTimeout;
  switch (config.kind) {
    case 'systemd':
      return new SystemdEngine({ unit: config.unit, logger, env, startTimeoutMs });
    case 'script': {
      const stateDir = opts.stateDir ?? defaultStateDir(env);
      return new ScriptEngine({ config, configKey: `hosts.${ref.host}.models.${ref.name}.engine`, logger, env, defaultLogFile: join(stateDir, `${ref.host}.${ref.name}.log`) });
    }
    case 'ollama':
      return new OllamaEngine({ config, logger, loadTimeoutMs: startTimeoutMs });
    case 'docker':
      return new DockerEngine({ container: config.container, logger, env });
  }
}

function defaultStateDir(env: Env): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'labops');
}
