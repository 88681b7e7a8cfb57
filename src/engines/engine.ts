import type { EngineKind } from '../config/schema.js';
import type { ModelState } from '../contracts/lab-data.js';

export type { ModelState } from '../contracts/lab-data.js';

export interface EngineState {
  state: ModelState;
  /** processes that belong to the model (main PID first), for VRAM attribution */
  pids: number[];
  /** a short note: "systemd not available", "exited with 1", "expires in 4 min" */
  detail?: string;
  /** VRAM the engine itself reports (Ollama's size_vram), MiB */
  vramMiB?: number;
}

/**
 * How a model is started, stopped and observed. Every command is an argv array built from the
 * inventory; nothing from chat reaches here.
 */
export interface Engine {
  readonly kind: EngineKind;
  start(signal: AbortSignal): Promise<void>;
  stop(signal: AbortSignal): Promise<void>;
  state(signal?: AbortSignal): Promise<EngineState>;
  logs(lines: number, signal?: AbortSignal): Promise<string[]>;
}
