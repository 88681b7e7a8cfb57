import type { ModelState } from '../../contracts/lab-data.js';

/**
 * What the model-down and ghost-VRAM rules consume: events about the host's live state. The
 * worker's live state (its table in Redis) emits them; until it is connected, `PollingAlertInputs`
 * produces the same events by polling the engines and nvidia-smi.
 */

/** Why a model changed state. */
export type TransitionCause = 'labops-stop' | 'idle-unload' | 'labops-start' | 'observed';

/** A model of the host moved from one state to another (the first observation has `from: 'unknown'`). */
export interface ModelTransition {
  host: string;
  model: string;
  from: ModelState;
  to: ModelState;
  at: number;
  cause: TransitionCause;
  detail?: string;
  pinned: boolean;
}

/** A process holding VRAM that no model of the inventory owns. */
export interface GhostProcess {
  pid: number;
  name: string;
  user: string;
  usedMiB: number;
}

/**
 * The VRAM of one GPU that no model owns, as of `at`. Emitted for every GPU on every attribution
 * pass — with `processes: []` and `unknownMiB: 0` when there is none — so an alert can resolve.
 */
export interface GhostVram {
  host: string;
  gpuIndex: number;
  gpuUuid: string;
  processes: GhostProcess[];
  unknownMiB: number;
  at: number;
}

/** A source of the events above; each `on…` returns its unsubscribe function. */
export interface AlertInputs {
  onModelTransition(listener: (t: ModelTransition) => void): () => void;
  onGhostVram(listener: (g: GhostVram) => void): () => void;
}
