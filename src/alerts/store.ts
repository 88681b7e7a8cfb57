import type { AlertKey } from './alert-key.js';
import { alertKeyString, parseAlertKey } from './alert-key.js';
import type { AlertState } from './state-machine.js';

/** What the rule last saw, kept beside the state for whoever reads it (/status, /alerts). */
export type AlertContext = Record<string, string | number>;

export interface StoredAlert {
  key: AlertKey;
  state: AlertState;
  context: AlertContext;
  updatedAt: number;
}

/** Alert states that outlive the worker, so a restart neither re-announces a firing alert nor forgets it. */
export interface AlertStore {
  load(key: AlertKey): Promise<AlertState | null>;
  save(key: AlertKey, state: AlertState, context: AlertContext): Promise<void>;
  list(filter?: { host?: string; kind?: string }): Promise<StoredAlert[]>;
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

  async list(filter: { host?: string; kind?: string } = {}): Promise<StoredAlert[]> {
    return [...this.states.entries()].flatMap(([k, v]) => {
      const key = parseAlertKey(k);
      if (!key || (filter.host && key.host !== filter.host) || (filter.kind && key.kind !== filter.kind)) return [];
      return [{ key, state: v.state, context: v.context, updatedAt: 0 }];
    });
  }
}
