import { usageError } from '../core/errors.js';

/** Discord's own limit for all the options of one command; labops holds every adapter to it. */
export const MAX_LINE = 6_000;
/** A string option without its own `maxLength`: names (models, hosts, units) are far shorter. */
export const DEFAULT_MAX_OPTION = 100;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Text typed by a user is printable and bounded: a control character (NUL, an ANSI escape, a line
 * break, a bidirectional override) is refused with a clear message rather than stored, printed or
 * passed on.
 */
export function checkTyped(text: string, what: string, max: number): void {
  const bad = CONTROL.exec(text);
  if (bad) {
    throw usageError(`${what} contains a control character (${codePoint(bad[0])}); labops takes printable text only.`, 'Type the value again without it.');
  }
  if (text.length > max) throw usageError(`${what} is ${text.length.toLocaleString('en-US')} characters long; at most ${max.toLocaleString('en-US')} are taken.`);
}

/** A whole command line (shell, exec): tabs separate words like spaces; anything else unprintable is refused. */
export function checkLine(line: string): void {
  checkTyped(line.replace(/\t/g, ' '), 'The command line', MAX_LINE);
}
