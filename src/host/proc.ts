import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** One line of /proc/<pid>/stat, the fields labops needs. */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** R, S, D, Z, T, … */
  state: string;
}

export async function procStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The command name may hold spaces and parentheses, so the fields are read after the last ")". */
function parseStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  const rest = text.slice(close + 2).split(' ');
  if (close < 0 || !Number.isInteger(pid) || rest.length < 3) return null;
  return { pid, state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]) };
}

/** Alive and not a zombie: a zombie passes `kill(pid, 0)` until its parent reaps it. */
export async function isAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await procStat(pid);
  return stat === null ? process.platform !== 'linux' : stat.state !== 'Z' && stat.state !== 'X';
}

/**
 * Every live process, from /proc (empty where there is no /proc). Read synchronously: a few hundred
 * small files take a few ms this way, about ten times less CPU than a promise (open, stat, read,
 * close on the thread pool) per file — this runs on every pass of the live state.
 */
export async function listProcesses(): Promise<ProcStat[]> {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const stat = parseStat(text);
    if (stat && stat.state !== 'Z' && stat.state !== 'X') out.push(stat);
  }
  return out;
}

/** A process list read at most once, and only if someone asks (a pass over models that run nothing reads no /proc). */
export type ProcessList = () => Promise<readonly ProcStat[]>;

export function lazyProcessList(): ProcessList {
  let list: Promise<readonly ProcStat[]> | null = null;
  return () => (list ??= listProcesses());
}

/**
 * The processes that belong to a model: the roots, their descendants, and the members of a process
 * group (a start script that backgrounds the server and exits leaves it in the script's group).
 * Roots first, for the "main PID first" rule of EngineState. `list`: a process list already read
 * (one /proc scan shared by a pass over many models).
 */
export async function processTree(roots: readonly number[], pgrp?: number, list?: readonly ProcStat[]): Promise<number[]> {
  const all = list ?? (await listProcesses());
  const live = new Set(all.map((p) => p.pid));
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);

  const out: number[] = [];
  const seen = new Set<number>();
  const visit = (pid: number) => {
    if (seen.has(pid) || !live.has(pid)) return;
    seen.add(pid);
    out.push(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  roots.forEach(visit);
  if (pgrp !== undefined && pgrp > 0) all.filter((p) => p.pgrp === pgrp).forEach((p) => visit(p.pid));
  return out;
}

/** Parent of every live process, from /proc (empty where there is no /proc). */
export async function parentMap(): Promise<Map<number, number>> {
  return new Map((await listProcesses()).map((p) => [p.pid, p.ppid]));
}

/** The given processes and all their descendants. */
export function withDescendants(roots: readonly number[], parents: Map<number, number>): Set<number> {
  const found = new Set(roots.filter((p) => p > 0));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!found.has(pid) && found.has(ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return found;
}

/** When the machine booted (ms since the epoch), from /proc/stat; null where unknown. */
export async function bootTimeMs(): Promise<number | null> {
  try {
    const match = /^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'));
    return match ? Number(match[1]) * 1000 : null;
  } catch {
    return null;
  }
}
