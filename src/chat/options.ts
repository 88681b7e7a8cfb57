import type { Inventory } from '../config/inventory.js';
import { closest } from '../config/inventory.js';
import { usageError } from '../core/errors.js';
import { checkTyped, DEFAULT_MAX_OPTION } from './input.js';
import type { AnyCommand, OptionDef } from './command.js';

/**
 * Checks and converts raw option values (strings from a command line, typed values from Discord)
 * against a command's option definitions. Whatever comes from chat is checked here again, even
 * when Discord's own validation or autocomplete produced it.
 */
export function parseOptions(command: AnyCommand, raw: Record<string, unknown>, inventory: Inventory): Record<string, unknown> {
  const defs = command.options as Record<string, OptionDef>;
  const names = Object.keys(defs);
  const out: Record<string, unknown> = {};

  for (const key of Object.keys(raw)) {
    if (!(key in defs)) {
      throw usageError(
        `/${command.name} has no option "${key}".`,
        names.length > 0 ? `Options: ${closest(key, names).map((n) => `${n}:`).join(' ')}` : `/${command.name} takes no options.`,
      );
    }
  }

  for (const [key, def] of Object.entries(defs)) {
    const value = raw[key];
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
      if (def.required) throw usageError(`/${command.name} needs ${key}: ${def.description}.`, `Usage: ${usage(command)}`);
      continue;
    }
    out[key] = convert(command.name, key, def, value, inventory);
  }
  return out;
}

function convert(commandName: string, key: string, def: OptionDef, value: unknown, inventory: Inventory): unknown {
  const bad = (expected: string) => usageError(`/${commandName} ${key}: expected ${expected}, got ${JSON.stringify(typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}…` : value)}.`);
  switch (def.type) {
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      const s = String(value).toLowerCase();
      if (['true', 'yes', 'y', '1', 'on'].includes(s)) return true;
      if (['false', 'no', 'n', '0', 'off'].includes(s)) return false;
      throw bad('true or false');
    }
    case 'integer': {
      const n = typeof value === 'number' ? value : /^-?\d+$/.test(String(value).trim()) ? Number(String(value).trim()) : NaN;
      if (!Number.isInteger(n)) throw bad('a whole number');
      if (def.min !== undefined && n < def.min) throw bad(`a number ≥ ${def.min}`);
      if (def.max !== undefined && n > def.max) throw bad(`a number ≤ ${def.max}`);
      return n;
    }
    case 'string': {
      if (typeof value !== 'string' && typeof value !== 'number') throw bad('text');
      const s = String(value).trim();
      checkTyped(s, `/${commandName} ${key}:`, def.maxLength ?? DEFAULT_MAX_OPTION);
      if (def.choices && !def.choices.includes(s)) {
        throw usageError(`/${commandName} ${key}: "${s}" is not one of its choices.`, `Choices: ${closest(s, def.choices).join(', ')}`);
      }
      if (def.autocomplete === 'host') return inventory.hostName(s);
      return s;
    }
  }
}

/** `/start model:<model> [host:<host>] [force:<true|false>]` */
export function usage(command: AnyCommand): string {
  const parts = Object.entries(command.options as Record<string, OptionDef>).map(([key, def]) => {
    const kind = def.type === 'string' ? (def.autocomplete ?? (def.choices ? def.choices.join('|') : 'text')) : def.type === 'integer' ? 'n' : 'true|false';
    return def.required ? `${key}:<${kind}>` : `[${key}:<${kind}>]`;
  });
  return [`/${command.name}`, ...parts].join(' ');
}
