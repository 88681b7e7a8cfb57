import { readdir, readFile } from 'node:fs/promises';
import { isAlive } from '../host/proc.js';
import { sleep } from '../core/sleep.js';

/** Pids of the live processes whose command line carries `tag` (every process of the demo's lab does). */
export async function taggedProcesses(tag: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const pids = await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)
      .map(async (n) => {
        const argv = await readFile(`/proc/${n}/cmdline`, 'utf8').catch(() => '');
        return argv.split('\0').includes(tag) && (await isAlive(Number(n))) ? Number(n) : null;
      }),
  );
  return pids.filter((p): p is number => p !== null);
}

/** Ends every process that carries `tag`: SIGTERM, then SIGKILL after `graceMs`. Returns the pids it found. */
export async function endTagged(tag: string, graceMs = 3_000): Promise<number[]> {
  const pids = await taggedProcesses(tag);
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone meanwhile
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  for (;;) {
    const left = (await Promise.all(pids.map(async (p) => ((await isAlive(p)) ? p : null)))).filter((p): p is number => p !== null);
    if (left.length === 0) return pids;
    if (Date.now() >= deadline) {
      for (const pid of left) signal(pid, 'SIGKILL');
      return pids;
    }
    await sleep(100);
  }
}
