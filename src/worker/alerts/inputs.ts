import type { ModelState } from '../../contracts/lab-data.js';
import type { TransitionCause } from '../../state/live-state.js';

export type { TransitionCause } from '../../state/live-state.js';

/**
 * What the model-down and ghost-VRAM rules consume: events about the host's live state, emitted by
 * the worker's keeper of it (src/worker/live/keeper.ts) as it refreshes its table in Redis.
 */

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
