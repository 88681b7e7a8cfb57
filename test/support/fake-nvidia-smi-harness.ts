import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_NVIDIA_SMI = fileURLToPath(new URL('./fake-nvidia-smi', import.meta.url));
export const H100_FIXTURES = fileURLToPath(new URL('../fixtures/nvidia-smi/h100/', import.meta.url));
export const fixture = (name: string) => readFileSync(join(H100_FIXTURES, name), 'utf8');

/** What the fake reads on every call and interval (see the head of test/support/fake-nvidia-smi). */
export interface FakeState {
  /** trace: `-lms` replays stream-trace.csv, a row per interval */
  mode?: 'ok' | 'no-driver' | 'gone' | 'trace';
  gpus?: number;
  profile?: 'idle' | 'loaded' | 'after';
  usedMiB?: number | number[];
  apps?: { pid: number; name?: string; usedMiB: number; gpu?: number }[];
  /** mode trace: which capture (default stream-trace.csv) and what follows its last row (default hold: that row again) */
  trace?: { file?: string; end?: 'hold' | 'loop' | 'exit' };
  /** `-lms` output cut into odd chunks: mid-line, mid-number, two lines in one write, 7-byte writes */
  split?: boolean;
  /** a `-lms` stream prints `after` samples, then `lines` (on stdout unless stderr; `partial`: the last without its newline), then exits with `exitCode` (default 15) */
  die?: { after?: number; lines?: string[]; stream?: 'stdout' | 'stderr'; exitCode?: number; partial?: boolean };
}

/** One row of a trace capture (`--query-gpu=timestamp,memory.used,memory.total,utilization.gpu`). */
export interface TraceRow {
  timestamp: string;
  usedMiB: number;
  totalMiB: number;
  utilPct: number;
}

/** The rows of stream-trace.csv (or another capture of that query), in order. */
export function traceRows(file = 'stream-trace.csv'): TraceRow[] {
  return fixture(file)
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [timestamp, used, total, util] = line.split(', ');
      return { timestamp: timestamp!, usedMiB: Number(used), totalMiB: Number(total), utilPct: Number(util) };
    });
}

export interface FakeNvidiaSmi {
  /** a folder holding only `nvidia-smi` (a link to the fake), for PATH */
  dir: string;
  bin: string;
  statePath: string;
  logPath: string;
  /** written atomically, so the fake never reads half a file */
  setState(state: FakeState): void;
  /** the argv of every call so far */
  invocations(): string[][];
  /** puts the fake first on PATH and points it at its state and log; returns the undo */
  activate(): () => void;
  cleanup(): void;
}

export function fakeNvidiaSmi(state: FakeState = {}): FakeNvidiaSmi {
  const dir = mkdtempSync(join(tmpdir(), 'labops-nvidia-smi-'));
  const bin = join(dir, 'nvidia-smi');
  symlinkSync(FAKE_NVIDIA_SMI, bin);
  const statePath = join(dir, 'state.json');
  const logPath = join(dir, 'calls.log');
  appendFileSync(logPath, '');
  const setState = (s: FakeState) => {
    writeFileSync(`${statePath}.tmp`, JSON.stringify(s));
    renameSync(`${statePath}.tmp`, statePath);
  };
  setState(state);
  return {
    dir,
    bin,
    statePath,
    logPath,
    setState,
    invocations: () => readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]),
    activate() {
      const saved = { PATH: process.env.PATH, FAKE_NVIDIA_SMI_STATE: process.env.FAKE_NVIDIA_SMI_STATE, FAKE_NVIDIA_SMI_LOG: process.env.FAKE_NVIDIA_SMI_LOG };
      process.env.PATH = `${dir}:${process.env.PATH ?? ''}`;
      process.env.FAKE_NVIDIA_SMI_STATE = statePath;
      process.env.FAKE_NVIDIA_SMI_LOG = logPath;
      return () => {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Live (not zombie) descendants of `root` whose command line names nvidia-smi. */
export function nvidiaSmiProcesses(root = process.pid): number[] {
  const parents = new Map<number, number>();
  const states = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(ppid));
      states.set(Number(entry), state ?? '');
    } catch {
      // gone meanwhile
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
    return false;
  };
  return [...parents.keys()].filter((pid) => {
    if (states.get(pid) === 'Z' || !isDescendant(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('nvidia-smi');
    } catch {
      return false;
    }
  });
}

/** Polls until `probe` gives a truthy value; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const pidAlive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
