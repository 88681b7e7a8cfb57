import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { silentLogger } from '../../src/core/logger.js';
import { consumeNotices } from '../../src/queue/notice-queue.js';
import { type Notice } from '../../src/notify/notice.js';
import { runCli, type CliResult } from './cli.js';
import { FAKE_SYSTEMD_BIN, MODEL_SERVER, fakeSystemctl, freePort, killTagged, uniqueTag, waitFor, writeModelUnit } from './engines-helpers.js';
import { createTestLab, DATABASE_URL, REDIS_URL, ROOT, type TestLab } from './env.js';

/**
 * A lab for the model-lifecycle tests: a real worker child process manages systemd units through
 * the fake systemctl/journalctl (real unit files under a temp XDG_CONFIG_HOME, model-server.mjs as
 * the real process), with a simulated GPU behind the fake nvidia-smi: VRAM appears while a model
 * server runs and is attributed to its pid.
 */

/** nvidia-smi's free memory of the H100 capture is 81,080 MiB minus what is used ("loaded" profile). */
export const GPU_TOTAL_FREE = 81_080;

export interface UnitModel {
  /** model-server options: slow start (ms), crash, never healthy */
  slowStartMs?: number;
  crash?: boolean;
  neverHealthy?: boolean;
  /** VRAM the simulated GPU attributes to the server's process, MiB */
  fakeVramMiB?: number;
  /** enabled at boot (a link in default.target.wants) */
  enabled?: boolean;
  /** the rest of the inventory entry (type, vramMiB, aliases, idleTtl, pinned, …) */
  config: Record<string, unknown>;
  /** default 10 s */
  startTimeout?: string;
}

export interface LifecycleLab extends TestLab {
  tag: string;
  /** unit name of each model */
  units: Record<string, string>;
  gpu: SimulatedGpu;
  /** `labops exec <line> --json` (plus flags), parsed */
  exec(line: string, flags?: string[], opts?: { timeoutMs?: number }): Promise<ExecJson>;
  /** `labops exec <line>` as text */
  execText(line: string, flags?: string[], opts?: { timeoutMs?: number }): Promise<CliResult>;
  /** pids of the model servers of a model that run now */
  servers(model: string): number[];
  /** the fake systemctl's view of a unit */
  unitState(model: string): string;
  unitFileState(model: string): string;
  wantsLink(model: string): string;
  dispose(): Promise<void>;
}

export interface ExecJson {
  code: number | null;
  stderr: string;
  outcome: string;
  title: string;
  hint: string | null;
  actions: { label: string; command: string; options: Record<string, string | number | boolean> }[];
  data: Record<string, unknown> | null;
  raw: string;
}

export async function createLifecycleLab(opts: {
  models: Record<string, UnitModel>;
  /** inventory entries of other engines (Ollama) as they are */
  otherModels?: Record<string, unknown>;
  host?: Record<string, unknown>;
  worker?: Record<string, unknown>;
  litellm?: Record<string, unknown>;
  /** false: no nvidia-smi on the lab's PATH (a host without an NVIDIA GPU) */
  gpu?: boolean;
  baseUsedMiB?: number;
  /** VRAM held outside model-server processes (a fake Ollama's loaded models) */
  extraUsedMiB?: () => number;
}): Promise<LifecycleLab> {
  const tag = uniqueTag('lifecycle');
  const ports: Record<string, number> = {};
  for (const name of Object.keys(opts.models)) ports[name] = await freePort();
  const units: Record<string, string> = {};
  const models: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(opts.models)) {
    units[name] = `labops-test-${name}.service`;
    models[name] = {
      type: 'chat',
      engine: { kind: 'systemd', unit: units[name] },
      health: { url: `http://127.0.0.1:${ports[name]}/health`, startTimeout: m.startTimeout ?? '10s', timeout: '1s' },
      ...m.config,
    };
  }
  Object.assign(models, opts.otherModels ?? {});

  const lab = createTestLab({
    hosts: {
      'gpu-1': {
        vramReserveMiB: 2048,
        gpu: { sampleInterval: '250ms' },
        models,
        ...(opts.host ?? {}),
      },
    },
    extra: {
      worker: { heartbeatInterval: '1s', shutdownTimeout: '5s', concurrency: 4, jobLockDuration: '2s', stalledInterval: '1s', idleCheckInterval: '1s', ...(opts.worker ?? {}) },
      ...(opts.litellm ? { litellm: opts.litellm } : {}),
    },
  });

  // the tag is in the runtime dir, so the fake systemd's supervisors carry it in their command line
  const base = join(lab.dir, tag);
  const xdg = { XDG_CONFIG_HOME: join(base, 'config'), XDG_RUNTIME_DIR: join(base, 'runtime') };
  mkdirSync(join(xdg.XDG_CONFIG_HOME, 'systemd', 'user'), { recursive: true });
  mkdirSync(xdg.XDG_RUNTIME_DIR, { recursive: true });
  Object.assign(lab.env, xdg);
  lab.link('systemctl', join(FAKE_SYSTEMD_BIN, 'systemctl'));
  lab.link('journalctl', join(FAKE_SYSTEMD_BIN, 'journalctl'));
  const systemdEnv = { ...process.env, ...xdg, PATH: `${FAKE_SYSTEMD_BIN}:${process.env.PATH ?? ''}` };
  for (const [name, m] of Object.entries(opts.models)) {
    const args = ['--port', String(ports[name]), '--model-id', name, '--labops-tag', tag, '--fake-vram', String(m.fakeVramMiB ?? 0)];
    if (m.slowStartMs) args.push('--slow-start', String(m.slowStartMs));
    if (m.crash) args.push('--crash-on-start');
    if (m.neverHealthy) args.push('--never-healthy');
    writeModelUnit(systemdEnv, units[name]!, args);
    if (m.enabled) {
      const r = fakeSystemctl(systemdEnv, ['enable', units[name]!]);
      if (r.status !== 0) throw new Error(`systemctl enable ${units[name]}: ${r.stderr}`);
    }
  }

  const gpu = new SimulatedGpu(join(lab.dir, 'gpu-state.json'), tag, opts.baseUsedMiB ?? 10_000, opts.extraUsedMiB);
  if (opts.gpu ?? true) {
    lab.link('nvidia-smi', join(ROOT, 'test/support/fake-nvidia-smi'));
    lab.env.FAKE_NVIDIA_SMI_STATE = gpu.stateFile;
    lab.env.FAKE_NVIDIA_SMI_SEEN = gpu.seenFile;
    gpu.start();
  }

  const execText = (line: string, flags: string[] = [], o: { timeoutMs?: number } = {}) => runCli(['exec', line, ...flags], lab.env, { timeoutMs: o.timeoutMs ?? 40_000 });
  return Object.assign(lab, {
    tag,
    units,
    gpu,
    execText,
    async exec(line: string, flags: string[] = [], o: { timeoutMs?: number } = {}): Promise<ExecJson> {
      const r = await execText(line, ['--json', ...flags], o);
      let json: Omit<ExecJson, 'code' | 'stderr' | 'raw'>;
      try {
        json = JSON.parse(r.stdout) as typeof json;
      } catch {
        throw new Error(`exec ${line}: not JSON (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      }
      return { ...json, code: r.code, stderr: r.stderr, raw: r.stdout };
    },
    servers: (model: string) => modelServers(tag, model),
    unitState: (model: string) => fakeSystemctl(systemdEnv, ['show', units[model]!, '-p', 'ActiveState', '--value']).stdout.trim(),
    unitFileState: (model: string) => fakeSystemctl(systemdEnv, ['show', units[model]!, '-p', 'UnitFileState', '--value']).stdout.trim(),
    wantsLink: (model: string) => join(xdg.XDG_CONFIG_HOME, 'systemd', 'user', 'default.target.wants', units[model]!),
    async dispose() {
      gpu.stop();
      killTagged(tag);
      await lab.cleanup();
    },
  });
}

/** Pids of model-server.mjs processes of this lab (and of one model, if given). */
export function modelServers(tag: string, model?: string): number[] {
  const out: number[] = [];
  for (const p of processes()) {
    if (!p.argv.some((a) => a === MODEL_SERVER) || !p.argv.includes(tag)) continue;
    if (model !== undefined && p.argv[p.argv.indexOf('--model-id') + 1] !== model) continue;
    out.push(p.pid);
  }
  return out;
}

function processes(): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
      out.push({ pid: Number(entry), argv });
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * The GPU the fake nvidia-smi reports: `baseUsedMiB` plus, for each model server of the lab that
 * runs, its `--fake-vram` (as a compute app with its pid). Rewritten atomically when it changes.
 */
export class SimulatedGpu {
  private timer: NodeJS.Timeout | null = null;
  private last = '';
  private seq = 0;
  /** where the fake's -lms stream says which state (seq) it last sampled */
  readonly seenFile: string;

  constructor(
    readonly stateFile: string,
    private readonly tag: string,
    public baseUsedMiB: number,
    private readonly extraUsedMiB?: () => number,
  ) {
    this.seenFile = `${stateFile}.seen`;
    this.write();
  }

  /** Resolves once the worker's sampler has been handed two samples of the state written last (the newest value, settled). */
  async sampled(timeoutMs = 10_000): Promise<void> {
    const want = this.seq;
    let first: number | null = null;
    await waitFor(() => {
      const [seq, samples] = (existsSync(this.seenFile) ? readFileSync(this.seenFile, 'utf8') : '').trim().split(' ').map(Number);
      if (seq === undefined || samples === undefined || seq < want) return false;
      first ??= samples;
      return samples > first;
    }, timeoutMs, 'the sampler to see the new GPU state');
  }

  start(): void {
    this.timer = setInterval(() => this.write(), 100);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Sets the VRAM used outside the models so that `freeMiB` is free with what runs now. */
  setFree(freeMiB: number): void {
    this.baseUsedMiB = GPU_TOTAL_FREE - freeMiB - this.modelsMiB();
    this.write();
  }

  /** processes outside the model servers that hold VRAM (a ghost), as nvidia-smi lists them */
  extraApps: { pid: number; name: string; usedMiB: number }[] = [];

  apps(): { pid: number; name: string; usedMiB: number }[] {
    return processes()
      .filter((p) => p.argv.includes(MODEL_SERVER) && p.argv.includes(this.tag))
      .map((p) => ({ pid: p.pid, name: 'llama-server', usedMiB: Number(p.argv[p.argv.indexOf('--fake-vram') + 1] ?? 0) }))
      .filter((a) => a.usedMiB > 0)
      .concat(this.extraApps);
  }

  modelsMiB(): number {
    return this.apps().reduce((n, a) => n + a.usedMiB, 0) + (this.extraUsedMiB?.() ?? 0);
  }

  write(): void {
    const apps = this.apps();
    const state = JSON.stringify({ mode: 'ok', usedMiB: Math.max(1, this.baseUsedMiB + this.modelsMiB()), apps });
    if (state === this.last) return;
    this.last = state;
    this.seq++;
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...(JSON.parse(state) as object), seq: this.seq }));
    renameSync(tmp, this.stateFile);
  }
}

/** Collects the notices the worker posts (the chat side is not running in these tests). */
export function collectNotices(prefix: string): { notices: Notice[]; waitFor(match: (n: Notice) => boolean, timeoutMs?: number): Promise<Notice>; close(): Promise<void> } {
  const notices: Notice[] = [];
  const consumer = consumeNotices(REDIS_URL, prefix, async (notice) => void notices.push(notice), silentLogger(), { keys: null });
  return {
    notices,
    waitFor: (match, timeoutMs = 15_000) => waitFor(() => notices.find(match), timeoutMs, 'a matching notice'),
    close: () => consumer.close(),
  };
}

/** Audit rows of the lab's jobs of one kind. */
export async function jobRows(lab: TestLab, command: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT * FROM ${pg.escapeIdentifier(lab.schema)}.audit_log WHERE command = $1 ORDER BY started_at`, [command]);
    return rows;
  } finally {
    await client.end();
  }
}

/** The lock and started-at keys of a model, for checks. */
export async function redisGet(key: string): Promise<string | null> {
  const redis = new Redis(REDIS_URL);
  try {
    return await redis.get(key);
  } finally {
    redis.disconnect();
  }
}
