import { readdir, readFile } from 'node:fs/promises';

/** Parent of every process, from /proc/<pid>/stat (empty where /proc is missing). */
export async function parentMap(): Promise<Map<number, number>> {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return parents;
  }
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        try {
          const stat = await readFile(`/proc/${e}/stat`, 'utf8');
          // the command name may hold spaces and parentheses: the fields after the last ")" are fixed
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          parents.set(Number(e), ppid);
        } catch {
          // the process ended while we looked
        }
      }),
  );
  return parents;
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
