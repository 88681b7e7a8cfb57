import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelRef } from '../../src/config/inventory.js';
import { engineSchema, type ModelConfig } from '../../src/config/schema.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MODEL_SERVER = fileURLToPath(new URL('./model-server.mjs', import.meta.url));
export const FAKE_SYSTEMD_BIN = fileURLToPath(new URL('./fake-systemd', import.meta.url));
export const FAKE_DOCKER_BIN = fileURLToPath(new URL('./fake-docker', import.meta.url));

/** A name unique to this test run; every process a test starts carries it in its command line. */
export function uniqueTag(what: string): string {
  return `labops-${what}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `${tag}-`));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A ModelRef as the config loader would build it, with the schema's defaults for the engine. */
export function modelRef(
  name: string,
  engine: Record<string, unknown>,
  health?: { url?: string; modelsUrl?: string; id?: string; startTimeout?: number; timeout?: number },
): ModelRef {
  const model: ModelConfig = {
    aliases: [],
    type: 'chat',
    engine: engineSchema.parse(engine),
    vramMiB: 0,
    pinned: false,
    ...(health ? { health: { startTimeout: 10_000, timeout: 1_000, ...health } } : {}),
  };
  return { host: 'test-host', name, model };
}

/** Kills every process whose command line mentions `tag` (and its process group): nothing outlives a test. */
export function killTagged(tag: string): number[] {
  const killed: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.includes(tag)) continue;
    const pid = Number(entry);
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone, or not a group leader
      }
    }
    killed.push(pid);
  }
  return killed;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

export async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs = 5_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function httpStatus(url: string): Promise<number | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return null;
  }
}

/** An executable file (a start or stop script). */
export function writeScript(path: string, text: string): string {
  writeFileSync(path, text, { mode: 0o755 });
  return path;
}

// ---- fake systemd

/** The environment under which the fake systemctl/journalctl manage units of `dir` (a temp dir). */
export function fakeSystemdEnv(dir: string): NodeJS.ProcessEnv {
  mkdirSync(join(dir, 'config', 'systemd', 'user'), { recursive: true });
  mkdirSync(join(dir, 'runtime'), { recursive: true });
  return {
    ...process.env,
    PATH: `${FAKE_SYSTEMD_BIN}:${process.env.PATH ?? ''}`,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_RUNTIME_DIR: join(dir, 'runtime'),
  };
}

/** Writes a real unit file; ExecStart runs model-server.mjs with `args`. */
export function writeModelUnit(env: NodeJS.ProcessEnv, unit: string, args: string[], opts: { description?: string; wantedBy?: string } = {}): string {
  const path = join(env.XDG_CONFIG_HOME!, 'systemd', 'user', unit);
  const quote = (s: string) => (/[\s"'\\$]/.test(s) ? `"${s.replace(/(["\\$])/g, '\\$1')}"` : s);
  writeFileSync(
    path,
    [
      '[Unit]',
      `Description=${opts.description ?? `labops test model ${unit}`}`,
      '',
      '[Service]',
      'Type=simple',
      `ExecStart=${[process.execPath, MODEL_SERVER, ...args].map(quote).join(' ')}`,
      'TimeoutStopSec=5',
      '',
      '[Install]',
      `WantedBy=${opts.wantedBy ?? 'default.target'}`,
      '',
    ].join('\n'),
  );
  return path;
}

/** Runs the fake systemctl directly (test setup, e.g. `enable`). */
export function fakeSystemctl(env: NodeJS.ProcessEnv, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(FAKE_SYSTEMD_BIN, 'systemctl'), ['--user', ...args], { env, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// ---- fake docker

export function fakeDockerEnv(dir: string): NodeJS.ProcessEnv {
  mkdirSync(join(dir, 'containers'), { recursive: true });
  return { ...process.env, PATH: `${FAKE_DOCKER_BIN}:${process.env.PATH ?? ''}`, FAKE_DOCKER_DIR: dir };
}

export function writeModelContainer(env: NodeJS.ProcessEnv, name: string, args: string[]): void {
  writeFileSync(join(env.FAKE_DOCKER_DIR!, 'containers', `${name}.json`), JSON.stringify({ Cmd: [process.execPath, MODEL_SERVER, ...args] }));
}

/** An empty directory as PATH: no systemctl, journalctl or docker. */
export function emptyPathEnv(dir: string): NodeJS.ProcessEnv {
  const bin = join(dir, 'empty-bin');
  mkdirSync(bin, { recursive: true });
  return { ...process.env, PATH: bin };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
