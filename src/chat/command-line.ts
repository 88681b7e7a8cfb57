import { usageError } from '../core/errors.js';
import { checkLine } from './input.js';
import type { AnyCommand, OptionDef } from './command.js';

export interface ParsedLine {
  name: string;
  raw: Record<string, string>;
}

/**
 * Reads a command line the way Discord shows one: `/start model:chat-hermes host:gpu-1`.
 * Values may be quoted ("two words"); bare words fill the options in the order they are declared,
 * so `/start chat-hermes` works too. Only splitting happens here: the values are checked by
 * `parseOptions`, and nothing here is ever handed to a shell.
 */
export function parseCommandLine(line: string, lookup: (name: string) => AnyCommand | undefined): ParsedLine {
  checkLine(line);
  const tokens = tokenize(line.trim());
  const head = tokens.shift();
  if (!head) throw usageError('Empty command.', 'Type /help for the commands you may run.');
  const name = head.replace(/^\//, '').toLowerCase();
  const command = lookup(name);
  const raw: Record<string, string> = {};
  const positional: string[] = [];
  for (const token of tokens) {
    const m = /^([A-Za-z][\w-]*):(.*)$/s.exec(token);
    if (!m) positional.push(token);
    else if (m[1]! in raw) throw usageError(`/${name} got ${m[1]}: twice; give each option once.`);
    else raw[m[1]!] = m[2]!;
  }
  if (command && positional.length > 0) {
    const free = Object.keys(command.options as Record<string, OptionDef>).filter((k) => !(k in raw));
    if (positional.length > free.length) {
      throw usageError(`/${name} takes ${free.length === 0 ? 'no more' : `at most ${free.length} more`} value${free.length === 1 ? '' : 's'}; got "${positional.join(' ')}".`);
    }
    positional.forEach((value, i) => (raw[free[i]!] = value));
  }
  return { name, raw };
}

function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let quote: string | null = null;
  let has = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || current) tokens.push(current);
      current = '';
      has = false;
    } else {
      current += ch;
      has = true;
    }
  }
  if (quote) throw usageError('Unclosed quote in the command line.');
  if (has || current) tokens.push(current);
  return tokens;
}
