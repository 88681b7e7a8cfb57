import type { AlertKey } from './alert-key.js';
import { alertKeyString } from './alert-key.js';
import type { AlertState } from './state-machine.js';

/** What the rule last saw, kept beside the state for whoever reads it (/status). */
export type AlertContext = Record<string, string | number>;

/** Alert states that outlive the worker, so a restart neither re-announces a firing alert nor forgets it. */
export interface AlertStore {
  load(key: AlertKey): Promise<AlertState | null>;
  save(key: AlertKey, state: AlertState, context: AlertContext): Promise<void>;
}

export class MemoryAlertStore implements AlertStore {
  readonly states = new Map<string, { state: AlertState; context: AlertContext }>();

  async load(key: AlertKey): Promise<AlertState | null> {
    return this.states.get(alertKeyString(key))?.state ?? null;
  }

  async save(key: AlertKey, state: AlertState, context: AlertContext): Promise<void> {
    if (state.status === 'inactive') this.states.delete(alertKeyString(key));
    else this.states.set(alertKeyString(key), { state, context });
  }
}
