/**
 * The worker's live state on a real lab: a real worker process, two systemd-unit model servers (the
 * fake systemctl counts its calls) and a script-engine model server, the simulated GPU behind the fake
 * nvidia-smi. /status and /models read the state from Redis: a model server killed with SIGKILL shows
 * as down within the reconcile interval, a process holding VRAM outside the inventory shows as unknown
 * (pid, name, user, MiB), every unit's state comes from ONE `systemctl --user show` per pass, and with
 * the worker stopped /status still answers with the last state, marked stale.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLiveState, type LiveHostState } from '../src/state/live-state.js';
import { startWorkerProcess, type CliProcess } from './support/cli.js';
import { freePort, MODEL_SERVER, waitFor, writeScript } from './support/engines-helpers.js';
import { REDIS_URL } from './support/env.js';
import { createLifecycleLab, modelServers, type LifecycleLab } from './support/lifecycle-lab.js';

const STATE_INTERVAL = 1_000;

let lab: LifecycleLab;
let worker: CliProcess;
let ghost: ChildProcess | null = null;
let scriptDir = '';
const redis = new Redis(REDIS_URL);

const live = () => readLiveState(redis, lab.prefix, 'gpu-1');
const calls = (): string[][] => {
  const file = join(lab.env.XDG_RUNTIME_DIR!, 'fake-systemd', 'calls.log');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : [];
};
async function passAfter(since: number): Promise<LiveHostState> {
  let state: LiveHostState | null = null;
  await waitFor(async () => ((state = await live()).refresh?.at ?? 0) > since, 10_000, 'a pass of the live state');
  return state!;
}

beforeAll(async () => {
  const port = await freePort();
  scriptDir = join(process.env.TMPDIR ?? '/tmp', `labops-live-script-${process.pid}-${Date.now()}`);
  mkdirSync(scriptDir, { recursive: true });
  lab = await createLifecycleLab({
    models: { 'chat-a': { fakeVramMiB: 3_000, config: { vramMiB: 3_000 } }, 'chat-b': { fakeVramMiB: 1_000, config: { vramMiB: 1_000 } } },
    otherModels: {
      'chat-script': {
        type: 'chat',
        engine: { kind: 'script', cwd: scriptDir, start: 'start.sh', pidFile: 'run/chat.pid', logFile: 'logs/chat.log' },
        health: { url: `http://127.0.0.1:${port}/health`, startTimeout: '10s', timeout: '1s', interval: '1s' },
        vramMiB: 2_000,
      },
    },
    host: { gpu: { sampleInterval: '250ms', appsInterval: '1s' }, alerts: { bootServices: { enabled: false } } },
    worker: { stateInterval: '1s', healthInterval: '1s' },
  });
  writeScript(
    join(scriptDir, 'start.sh'),
    `#!/bin/sh\nexec "${process.execPath}" "${MODEL_SERVER}" --port ${port} --model-id chat-script --labops-tag ${lab.tag} --fake-vram 2000\n`,
  );
  worker = await startWorkerProcess(lab);
}, 60_000);

afterAll(async () => {
  ghost?.kill('SIGKILL');
  await worker?.stop();
  await lab?.dispose();
  if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
  redis.disconnect();
});

describe('the state table', () => {
  it('is written before the worker beats: every model, the GPUs, host facts, each with its time', async () => {
    const state = await live();
    expect([...state.models.keys()].sort()).toEqual(['chat-a', 'chat-b', 'chat-script']);
    expect(state.models.get('chat-a')).toMatchObject({ state: 'stopped', pids: [], vramMiB: null, health: null, transition: { from: 'unknown', to: 'stopped', cause: 'observed' } });
    expect(state.gpus?.snapshot).toMatchObject({ available: true, gpus: [{ index: 0 }] });
    expect(state.facts).toMatchObject({ facts: { cpu: { cores: expect.any(Number) } } });
    expect(state.refresh).toMatchObject({ intervalMs: STATE_INTERVAL });
    expect(state.heartbeat).toMatchObject({ host: 'gpu-1', pid: worker.child.pid });
  });

  it('asks systemd for every unit in ONE `systemctl --user show` per pass', async () => {
    const first = await passAfter(Date.now());
    const before = calls().length;
    const last = await passAfter(Date.now() + 3 * STATE_INTERVAL);
    const window = calls().slice(before);
    const passes = last.refresh!.passes - first.refresh!.passes;
    const shows = window.filter((argv) => argv.includes('show'));
    expect(passes).toBeGreaterThanOrEqual(3);
    // every show names both units; one per pass (the window's edges may cut a pass either way)
    for (const argv of shows) expect(argv).toEqual(expect.arrayContaining([lab.units['chat-a'], lab.units['chat-b']]));
    expect(shows.length).toBeGreaterThanOrEqual(passes - 1);
    expect(shows.length).toBeLessThanOrEqual(passes + 1);
    // and nothing else: no per-unit calls while nothing happens
    expect(window.filter((argv) => !argv.includes('show'))).toEqual([]);
  });
});

describe('/status from the live state', () => {
  it('shows running models with their pids, VRAM and health; a SIGKILLed model server is down within the reconcile interval', async () => {
    for (const model of ['chat-script', 'chat-a']) expect(await lab.exec(`/start ${model}`)).toMatchObject({ code: 0, data: { status: 'ready' } });
    // a start is in the state by the time its job settles
    const started = await live();
    expect(started.models.get('chat-script')).toMatchObject({ state: 'running', transition: { from: 'stopped', to: 'running' } });
    expect(started.models.get('chat-a')).toMatchObject({ state: 'running' });
    await waitFor(async () => {
      const s = await live();
      return s.models.get('chat-a')?.vramMiB === 3_000 && s.models.get('chat-script')?.vramMiB === 2_000 && s.models.get('chat-script')?.health?.ok === true;
    }, 10_000, 'VRAM attributed and health probed');

    const status = await lab.execText('/status', ['--as', 'viewer']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/chat-a +chat +systemd +running +\S+( \S+)? +ok \(\d+ s ago\) +3,000 MiB +\d+ s ago/);
    expect(status.stdout).toMatch(/chat-script +chat +script +running +\S+( \S+)? +ok \(\d+ s ago\) +2,000 MiB +\d+ s ago/);

    const [pid] = modelServers(lab.tag, 'chat-script');
    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    let downAt = 0;
    await waitFor(async () => {
      const m = (await live()).models.get('chat-script');
      if (m?.state !== 'stopped') return false;
      downAt = m.since;
      return true;
    }, 10_000, 'chat-script down in the live state');
    // the pid watch sees it within a second; the pass every second otherwise; slack for a loaded machine
    expect(downAt - killedAt).toBeLessThanOrEqual(STATE_INTERVAL + 2_000);
    const after = await live();
    expect(after.models.get('chat-script')).toMatchObject({ state: 'stopped', vramMiB: null, health: null, transition: { from: 'running', to: 'stopped', cause: 'observed' } });
    const text = (await lab.execText('/status', ['--as', 'viewer'])).stdout;
    expect(text).toMatch(/chat-script +chat +script +stopped \(not running \(stale pid file, pid \d+\)\)/);
  }, 90_000);

  it('shows VRAM that no model owns per GPU, with the pid, name, user and MiB of its process', async () => {
    ghost = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', `${lab.tag}-ghost`], { stdio: 'ignore' });
    lab.gpu.extraApps = [{ pid: ghost.pid!, name: 'python3', usedMiB: 3_000 }];
    lab.gpu.write();
    await waitFor(async () => ((await live()).processes?.processes ?? []).some((p) => p.pid === ghost!.pid), 10_000, 'the ghost in the live state');
    const state = await live();
    expect(state.processes!.processes).toContainEqual({ pid: ghost.pid, name: 'python3', user: userInfo().username, usedMiB: 3_000, gpuUuid: expect.any(String), model: null });
    expect(state.processes!.processes).toContainEqual(expect.objectContaining({ name: 'llama-server', usedMiB: 3_000, model: 'chat-a' }));

    const text = (await lab.execText('/status', ['--as', 'viewer'])).stdout;
    expect(text).toMatch(/GPU: +0 NVIDIA H100 80GB HBM3 .* · ⚠ 3,000 MiB unknown/);
    expect(text).toContain('VRAM no model owns:');
    expect(text).toMatch(new RegExp(`0 +${ghost.pid} +python3 +${userInfo().username} +3,000 MiB`));
    const json = await lab.exec('/status', ['--as', 'viewer']);
    const host = (json.data!.hosts as { snapshot: { unknownMiB: Record<string, number> } }[])[0]!;
    expect(Object.values(host.snapshot.unknownMiB)).toEqual([3_000]);
  });

  it('answers with the worker stopped: the last known state, marked stale', async () => {
    await worker.stop('SIGKILL');
    let text = '';
    await expect.poll(async () => (text = (await lab.execText('/status', ['--as', 'viewer'])).stdout), { timeout: 15_000, interval: 300 }).toContain('── gpu-1 — offline');
    expect(text).toMatch(/⚠ worker offline — last heartbeat \d+ s ago\nLast known state \(stale\), as of \d+ s ago:/);
    expect(text).toMatch(/Live state: +models \d+ s ago \(stale\) · GPUs \d+ s ago \(stale\)/);
    expect(text).toMatch(/chat-a +chat +systemd +running .* +\d+ s ago \(stale\)/);
    const json = await lab.exec('/status', ['--as', 'viewer']);
    expect(json.data!.hosts).toEqual([expect.objectContaining({ host: 'gpu-1', online: false, stale: true, problem: 'worker offline', snapshot: expect.objectContaining({ models: expect.any(Array) }) })]);
    const models = await lab.exec('/models', ['--as', 'viewer']);
    expect(models.data!.models).toContainEqual(expect.objectContaining({ name: 'chat-a', state: 'running', stale: true }));
  });
});
