import { randomBytes } from 'node:crypto';

/**
 * Button custom ids: `<command>:<action>:<id>` (at most 100 characters). The command says who
 * handles the press, the action what it does, and the id where its state lives in Redis, so a
 * button keeps working after the bot restarts.
 */
export type ButtonAction = 'confirm' | 'cancel' | 'run';

export interface ButtonId {
  command: string;
  action: ButtonAction;
  id: string;
}

const PATTERN = /^([-_\p{L}\p{N}]{1,32}):(confirm|cancel|run):([A-Za-z0-9_-]{6,40})$/u;

export function buttonId(command: string, action: ButtonAction, id: string): string {
  const out = `${command}:${action}:${id}`;
  if (!PATTERN.test(out)) throw new Error(`not a valid button id: ${out}`);
  return out;
}

export function parseButtonId(customId: string): ButtonId | null {
  const m = PATTERN.exec(customId);
  return m ? { command: m[1]!, action: m[2] as ButtonAction, id: m[3]! } : null;
}

/** A random id for stored state: 16 url-safe characters (96 bits). */
export function newStateId(): string {
  return randomBytes(12).toString('base64url');
}
