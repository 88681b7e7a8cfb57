import { open } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { analyzeCommand, expandVars, serverSegment, splitShellWords, type ServerCommand } from './command-line.js';

const MAX_SCRIPT_BYTES = 256 * 1024;

export interface ScriptRead {
  path: string;
  /** the command in it that runs a known server, else what its lines say together (ports) */
  command: ServerCommand;
}

/**
 * Reads a start script a unit runs, as text: its assignments (`PORT=8091`, `export MODEL=…`) fill
 * the variables of its command lines, and the line that starts a known server says what it is.
 * Binaries, large files and what cannot be read are not scripts (null). Nothing in it is run.
 */
export async function readStartScript(path: string, cwd: string, env: Readonly<Record<string, string>>): Promise<ScriptRead | null> {
  const full = isAbsolute(path) ? path : resolve(cwd || '/', path);
  const text = await readSmallText(full);
  if (text === null) return null;
  return { path: full, command: analyzeScript(text, env) };
}

export function analyzeScript(text: string, env: Readonly<Record<string, string>> = {}): ServerCommand {
  const vars: Record<string, string> = { ...env };
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const commands: ServerCommand[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // NAME=value, export NAME=value, : "${NAME:=value}"
    const all = splitShellWords(line);
    const rest = ['export', 'readonly', 'local', 'declare'].includes(all[0] ?? '') ? all.slice(1) : all;
    const assignment = rest.length === 1 ? /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(rest[0]!) : null;
    if (assignment) {
      vars[assignment[1]!] = expandVars(assignment[2]!, vars);
      continue;
    }
    const defaulted = /^:\s+"?\$\{([A-Za-z_][A-Za-z0-9_]*):?=([^}]*)\}"?/.exec(line);
    if (defaulted) {
      vars[defaulted[1]!] ??= expandVars(defaulted[2]!, vars);
      continue;
    }
    const words = serverSegment(all.map((w) => expandVars(w, vars)));
    commands.push(analyzeCommand(words, vars));
  }
  const server = commands.find((c) => c.kind !== 'unknown');
  if (server) return server;
  const given = commands.filter((c) => c.portGiven);
  return {
    kind: 'unknown',
    ports: [...new Set(given.flatMap((c) => c.ports))],
    portGiven: given.length > 0,
    files: commands.flatMap((c) => c.files),
  };
}

/** The text of a regular file of at most 256 KiB that is not a binary; null otherwise. */
async function readSmallText(path: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, 'r');
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_SCRIPT_BYTES) return null;
    const bytes = await handle.readFile();
    if (bytes.subarray(0, 4).toString('latin1') === '\x7fELF' || bytes.includes(0)) return null;
    return bytes.toString('utf8');
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}
