import { readFile } from 'node:fs/promises';

/** The owner of a process by name (from /proc and /etc/passwd): the uid as a string when it has no name, "?" when the process is gone. */
export async function processUser(pid: number): Promise<string> {
  let uid: string | undefined;
  try {
    uid = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return '?';
  }
  if (uid === undefined) return '?';
  return (await userNames()).get(uid) ?? uid;
}

let names: { at: number; map: Map<string, string> } | null = null;

/** uid → user name, read from /etc/passwd at most once a minute. */
async function userNames(): Promise<Map<string, string>> {
  if (names && Date.now() - names.at < 60_000) return names.map;
  const map = new Map<string, string>();
  try {
    for (const line of (await readFile('/etc/passwd', 'utf8')).split('\n')) {
      const [name, , uid] = line.split(':');
      if (name && uid && /^\d+$/.test(uid)) map.set(uid, name);
    }
  } catch {
    // no passwd file: uids stay numbers
  }
  names = { at: Date.now(), map };
  return map;
}
