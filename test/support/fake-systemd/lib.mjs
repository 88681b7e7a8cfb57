// Shared by the fake systemctl, journalctl and the supervisor that plays systemd's part of
// running a service: unit files, the per-unit state and the captured journal.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, appendFileSync } from 'node:fs';
import { hostname, homedir } from 'node:os';
import { join } from 'node:path';

export function configDir(env = process.env) {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'systemd', 'user');
}

/** Where the fake keeps unit state; like the real user manager, it needs XDG_RUNTIME_DIR. */
export function stateDir(env = process.env) {
  if (!env.XDG_RUNTIME_DIR) {
    process.stderr.write(
      'Failed to connect to user scope bus via local transport: $DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR not defined (consider using --machine=<user>@.host --user to connect to bus of other user)\n',
    );
    process.exit(1);
  }
  const dir = join(env.XDG_RUNTIME_DIR, 'fake-systemd');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function unitPath(unit, env = process.env) {
  return join(configDir(env), unit);
}

/** Parses a unit file into { Unit: {Description: [..]}, Service: {...}, Install: {...} } with every value kept. */
export function parseUnitFile(text) {
  const sections = {};
  let current = null;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !current) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (value === '') current[key] = [];
    else (current[key] ??= []).push(value);
  }
  return sections;
}

/** The unit as the supervisor runs it, or null when there is no such unit file. */
export function loadUnit(unit, env = process.env) {
  const path = unitPath(unit, env);
  if (!existsSync(path)) return null;
  const s = parseUnitFile(readFileSync(path, 'utf8'));
  const service = s.Service ?? {};
  const environment = {};
  for (const line of service.Environment ?? []) {
    for (const word of splitWords(line, {})) {
      const eq = word.indexOf('=');
      if (eq > 0) environment[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  const execStart = (service.ExecStart ?? []).at(-1);
  const vars = { ...env, ...environment };
  const argv = execStart ? splitWords(specifiers(execStart.replace(/^[-@:+!]+/, ''), env), vars) : [];
  const wd = service.WorkingDirectory?.at(-1)?.replace(/^-/, '');
  return {
    unit,
    path,
    description: s.Unit?.Description?.at(-1) ?? unit,
    argv,
    // as `systemctl show` prints ExecStart's argv[]: specifiers resolved, $VARIABLES not (they are expanded when it runs)
    shownArgv: execStart ? splitWords(specifiers(execStart.replace(/^[-@:+!]+/, ''), env), null) : [],
    env: environment,
    cwd: wd ? specifiers(wd === '~' ? env.HOME || homedir() : wd, env) : env.HOME || homedir(),
    workingDirectory: wd ? specifiers(wd, env) : '',
    wantedBy: (s.Install?.WantedBy ?? []).flatMap((v) => v.split(/\s+/)),
    hasInstall: Boolean(s.Install),
    timeoutStopMs: parseSeconds(service.TimeoutStopSec?.at(-1)) ?? 90_000,
  };
}

function specifiers(text, env) {
  return text.replace(/%([%htU])/g, (_, c) => ({ '%': '%', h: env.HOME || homedir(), t: env.XDG_RUNTIME_DIR ?? '', U: String(process.getuid?.() ?? 0) })[c]);
}

function parseSeconds(value) {
  if (!value) return null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|min)?$/.exec(value.trim());
  if (!m) return null;
  return Number(m[1]) * ({ ms: 1, s: 1000, min: 60_000 }[m[2] ?? 's']);
}

/** systemd's command-line splitting: double and single quotes, backslash escapes, ${VAR} and $VAR (kept as written when `vars` is null). */
export function splitWords(text, vars) {
  const words = [];
  let word = null;
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (c === '$') {
      const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(text.slice(i));
      if (m) {
        word = (word ?? '') + (vars === null ? m[0] : (vars[m[1] ?? m[2]] ?? ''));
        i += m[0].length - 1;
      } else word = (word ?? '') + c;
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return words;
}

// ---- state

const INACTIVE = { ActiveState: 'inactive', SubState: 'dead', MainPID: 0, ExecMainStatus: 0 };

export function statePath(dir, unit) {
  return join(dir, `${unit}.json`);
}

export function readState(dir, unit) {
  try {
    return { ...INACTIVE, ...JSON.parse(readFileSync(statePath(dir, unit), 'utf8')) };
  } catch {
    return { ...INACTIVE };
  }
}

export function writeState(dir, unit, state) {
  const path = statePath(dir, unit);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, path);
}

export function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return true;
  }
}

/** The state, corrected where the supervisor died without recording the end (killed by a test). */
export function currentState(dir, unit) {
  const state = readState(dir, unit);
  if ((state.ActiveState === 'active' || state.ActiveState === 'deactivating') && !alive(state.MainPID) && !alive(state.supervisor)) {
    return { ...INACTIVE, ExecMainStatus: state.ExecMainStatus };
  }
  return state;
}

// ---- journal

export function journalPath(dir, unit) {
  return join(dir, `${unit}.journal`);
}

export function journal(dir, unit, entry) {
  appendFileSync(journalPath(dir, unit), `${JSON.stringify({ t: Date.now(), ...entry })}\n`);
}

export function readJournal(dir, unit) {
  try {
    return readFileSync(journalPath(dir, unit), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

/** `2024-05-01T12:00:00+02:00 host ident[pid]: message`, as journalctl -o short-iso prints it. */
export function formatShortIso(entry) {
  return `${isoLocal(new Date(entry.t))} ${hostname()} ${entry.id}[${entry.pid}]: ${entry.m}`;
}

function isoLocal(d) {
  const pad = (n) => String(Math.abs(n)).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`
  );
}
