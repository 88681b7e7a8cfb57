/**
 * The worker's alert rules on a real lab: a real worker process, a script-engine model server and a
 * systemd-unit model server (fake systemctl), the simulated GPU behind the fake nvidia-smi. A
 * model server killed with SIGKILL raises "model down" (with its log lines) within its `for`, and
 * it resolves when the model is started again; stops by labops raise nothing; a process holding
 * VRAM outside the inventory raises "ghost VRAM"; a VRAM alert offers the /stop of the idle models
 * that bring the GPU under its threshold, and that button's command line is /stop's own
 * confirmation. /alerts answers through `labops exec --json`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertRedisKey } from '../src/alerts/redis-store.js';
import type { Notice } from '../src/notify/notice.js';
import { readLiveState } from '../src/state/live-state.js';
import { startWorkerProcess, type CliProcess } from './support/cli.js';
import { freePort, MODEL_SERVER, waitFor, writeScript } from './support/engines-helpers.js';
import { REDIS_URL } from './support/env.js';
import { collectNotices, createLifecycleLab, GPU_TOTAL_FREE, modelServers, type LifecycleLab } from './support/lifecycle-lab.js';

const FOR = 3_000;
/** the live state sees a dead main pid within 1 s (a pass every worker.stateInterval otherwise); rules tick every for/4 (at most 1 s) */
const POLL = 1_500;
const TICK = 750;

let lab: LifecycleLab;
let worker: CliProcess;
let notices: ReturnType<typeof collectNotices>;
let ghost: ChildProcess | null = null;
let scriptDir = '';
const redis = new Redis(REDIS_URL);

const data = (n: Notice) => (n.reply.data ?? {}) as Record<string, unknown>;
const alertOf = (key: string, transition: string, after = 0) => (n: Notice) => n.key === key && data(n).transition === transition && n.at >= after;
const noticeKeys = () => notices.notices.map((n) => `${n.key} ${String(data(n).transition)}`);

/** resolves once the worker's live state (the alert rules' source) has refreshed the models (or attributed the GPU processes) after `since` */
async function polledAfter(since: number, what: 'models' | 'ghosts' = 'models'): Promise<void> {
  await waitFor(
    async () => {
      const live = await readLiveState(redis, lab.prefix, 'gpu-1');
      return ((what === 'models' ? live.refresh?.at : live.processes?.at) ?? 0) > since;
    },
    10_000,
    `a ${what} pass of the live state`,
  );
}

beforeAll(async () => {
  const port = await freePort();
  scriptDir = join(process.env.TMPDIR ?? '/tmp', `labops-alerts-script-${process.pid}-${Date.now()}`);
  mkdirSync(scriptDir, { recursive: true });
  lab = await createLifecycleLab({
    models: { 'chat-unit': { fakeVramMiB: 4_000, enabled: true, config: { vramMiB: 4_000 } } },
    otherModels: {
      'chat-script': {
        type: 'chat',
        engine: { kind: 'script', cwd: scriptDir, start: 'start.sh', pidFile: 'run/chat.pid', logFile: 'logs/chat.log' },
        health: { url: `http://127.0.0.1:${port}/health`, startTimeout: '10s', timeout: '1s' },
        vramMiB: 2_000,
      },
    },
    host: {
      // polls a little slower than a test would like: each poll spawns the fake systemctl or nvidia-smi (node processes)
      gpu: { sampleInterval: '250ms', appsInterval: '2s' },
      alerts: {
        vramHigh: { percent: 90, for: '1s' },
        modelDown: { for: '3s', logLines: 5 },
        ghostVram: { for: '2s', minMiB: 1_000 },
      },
    },
  });
  // the server carries the lab's tag, so the simulated GPU counts its VRAM and the lab's cleanup ends it
  writeScript(
    join(scriptDir, 'start.sh'),
    `#!/bin/sh\necho "start.sh: starting chat-script"\nexec "${process.execPath}" "${MODEL_SERVER}" --port ${port} --model-id chat-script --labops-tag ${lab.tag} --fake-vram 2000\n`,
  );
  notices = collectNotices(lab.prefix);
  worker = await startWorkerProcess(lab);
}, 60_000);

afterAll(async () => {
  ghost?.kill('SIGKILL');
  await notices?.close();
  await worker?.stop();
  await lab?.dispose();
  if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
  redis.disconnect();
});

describe('boot services', () => {
  it('a GPU-heavy unit enabled at boot fires when the worker starts, with the repair as a button', async () => {
    const key = `gpu-1:${lab.units['chat-unit']}:boot-service`;
    const firing = await notices.waitFor(alertOf(key, 'firing'), 15_000);
    expect(firing.reply).toMatchObject({ tone: 'warn', title: `gpu-1: ${lab.units['chat-unit']} (chat-unit, 4,000 MiB) starts at boot` });
    expect(firing.reply.actions?.at(-1)).toMatchObject({ label: 'Repair boot services', command: 'repair', options: { kind: 'boot-services', host: 'gpu-1' } });
  });
});

describe('model down', () => {
  it('fires within its `for` when a running script model is SIGKILLed, with its last log lines, and resolves when it is started again', async () => {
    for (const model of ['chat-script', 'chat-unit']) expect(await lab.exec(`/start ${model}`)).toMatchObject({ code: 0, data: { status: 'ready' } });
    await polledAfter(Date.now());
    const [pid] = modelServers(lab.tag, 'chat-script');
    expect(pid).toBeGreaterThan(0);

    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    const key = 'gpu-1:chat-script:model-down';
    const firing = await notices.waitFor(alertOf(key, 'firing'), 15_000);
    // seen down at the next poll (plus the pass it takes), fired `for` later at a tick; the slack is for a loaded 2-core machine
    const downSince = data(firing).since as number;
    expect(downSince - killedAt).toBeLessThanOrEqual(2 * POLL + 4_000);
    expect(firing.at - downSince).toBeGreaterThanOrEqual(FOR);
    expect(firing.at - downSince).toBeLessThanOrEqual(FOR + TICK + 2_000);
    expect(firing.reply.title).toMatch(/^gpu-1 chat-script down for \d+ s: was running, now stopped \(not running \(stale pid file, pid \d+\)\), and labops did not stop it$/);
    expect(firing.reply.tone).toBe('error');
    expect(data(firing)).toMatchObject({ kind: 'model-down', from: 'running', to: 'stopped', cause: 'observed', status: 'firing' });
    expect(data(firing).logLines).toEqual(expect.arrayContaining(['start.sh: starting chat-script', expect.stringMatching(/^model-server: listening on .* model=chat-script/)]));
    const logs = firing.reply.blocks.find((b) => b.kind === 'text');
    expect(logs).toMatchObject({ kind: 'text', text: expect.stringMatching(/^Last \d log lines:\n```\n[^]*start\.sh: starting chat-script/) });
    expect(firing.reply.actions?.map((a) => a.label)).toEqual(['Acknowledge', 'Silence 1 h', 'Silence 8 h', 'Start chat-script']);
    expect(firing.reply.actions?.[3]).toMatchObject({ command: 'start', options: { model: 'chat-script', host: 'gpu-1' } });
    // only firing is posted for this kind: no pending notice before it
    expect(noticeKeys().filter((k) => k.startsWith(key))).toEqual([`${key} firing`]);

    const listed = await lab.exec('/alerts', ['--as', 'viewer']);
    expect(listed).toMatchObject({ code: 0, outcome: 'ok', title: 'Alerts: 2 firing, 0 pending, 0 silenced' });
    expect(listed.data!.alerts).toContainEqual(expect.objectContaining({ key, status: 'firing', acknowledged: null, silenced: null, context: expect.objectContaining({ model: 'chat-script', state: 'stopped', was: 'running' }) }));

    const restarted = Date.now();
    expect(await lab.exec('/start chat-script')).toMatchObject({ code: 0, data: { status: 'ready' } });
    const resolved = await notices.waitFor(alertOf(key, 'resolved', restarted), 10_000);
    expect(resolved.reply).toMatchObject({ tone: 'ok', title: expect.stringMatching(/^gpu-1 chat-script running again after \d+ s down$/) });
    expect(resolved.reply.actions).toEqual([]);
    expect(await redis.hget(alertRedisKey(lab.prefix, { host: 'gpu-1', subject: 'chat-script', kind: 'model-down' }), 'status')).toBe('resolved');
  }, 120_000);
});

describe('VRAM high: stop idle models', () => {
  it('offers /stop of the idle models that bring the GPU under its threshold; stopping them through it raises no model down', async () => {
    // used at 90 % + 4,999 MiB: no single idle model frees 5,000 MiB, both together (4,000 + 2,000) do
    const used = Math.ceil(0.9 * 81_559) + 4_999;
    const crossed = Date.now();
    lab.gpu.setFree(GPU_TOTAL_FREE - used);
    const key = 'gpu-1:gpu0:vram-high';
    const firing = await notices.waitFor(alertOf(key, 'firing', crossed), 15_000);
    expect(data(firing)).toMatchObject({ usedMiB: used, idleModels: ['chat-unit', 'chat-script'] });
    const stop = firing.reply.actions?.find((a) => a.label === 'Stop idle models');
    expect(stop).toEqual({ label: 'Stop idle models', command: 'stop', options: { model: 'chat-unit', host: 'gpu-1', also: 'chat-script' }, style: 'danger' });
    expect(firing.reply.blocks.some((b) => b.kind === 'text' && b.text === 'Stopping the idle, unpinned models chat-unit (4,000 MiB), chat-script (2,000 MiB) frees 6,000 MiB and brings GPU 0 under 90 %.')).toBe(true);

    // the button's command line is /stop's own confirmation, as whoever runs it
    const line = `/stop model:${stop!.options.model} host:${stop!.options.host} also:${stop!.options.also}`;
    const asked = await lab.exec(line, ['--as', 'operator']);
    expect(asked).toMatchObject({ code: 1, outcome: 'declined', title: 'chat-unit and chat-script were not stopped.' });
    expect(asked.stderr).toContain('Stop chat-unit and chat-script on gpu-1?: not confirmed');
    expect(await lab.exec(line, ['--as', 'viewer'])).toMatchObject({ code: 2, outcome: 'denied' });

    const stopping = Date.now();
    const stopped = await lab.exec(line, ['--as', 'operator', '--yes']);
    expect(stopped).toMatchObject({ code: 0, outcome: 'ok', title: 'Stopped chat-unit and chat-script on gpu-1.' });
    expect(modelServers(lab.tag)).toEqual([]);
    // a pass that saw both stopped: a stop by labops leaves the model-down alerts alone (no pending, no firing)
    await polledAfter(Date.now());
    expect(await redis.hget(alertRedisKey(lab.prefix, { host: 'gpu-1', subject: 'chat-script', kind: 'model-down' }), 'status')).toBe('resolved');
    expect(await redis.exists(alertRedisKey(lab.prefix, { host: 'gpu-1', subject: 'chat-unit', kind: 'model-down' }))).toBe(0);
    expect(notices.notices.filter((n) => n.at >= stopping && String(n.key).endsWith(':model-down'))).toEqual([]);

    lab.gpu.setFree(60_000);
    await notices.waitFor(alertOf(key, 'resolved', stopping), 10_000);
  }, 120_000);
});

describe('ghost VRAM', () => {
  it('a process holding VRAM that no model owns fires after `for`, with its pid, name and user; it resolves when the process lets go', async () => {
    ghost = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', `${lab.tag}-ghost`], { stdio: 'ignore' });
    const since = Date.now();
    lab.gpu.extraApps = [{ pid: ghost.pid!, name: 'python3', usedMiB: 3_000 }];
    lab.gpu.write();
    const key = 'gpu-1:gpu0:ghost-vram';
    const firing = await notices.waitFor(alertOf(key, 'firing', since), 15_000);
    expect(firing.reply.title).toMatch(/^gpu-1 GPU 0: 3,000 MiB held by a process no model owns, for \d s$/);
    expect(data(firing)).toMatchObject({ kind: 'ghost-vram', unknownMiB: 3_000, processes: [{ pid: ghost.pid, name: 'python3', user: userInfo().username, usedMiB: 3_000 }] });
    expect(firing.reply.blocks).toContainEqual({ kind: 'table', columns: ['pid', 'process', 'user', 'VRAM'], rows: [[String(ghost.pid), 'python3', userInfo().username, '3,000 MiB']] });
    expect(firing.reply.actions?.map((a) => a.label)).toEqual(['Acknowledge', 'Silence 1 h', 'Silence 8 h']);

    const gone = Date.now();
    lab.gpu.extraApps = [];
    lab.gpu.write();
    const resolved = await notices.waitFor(alertOf(key, 'resolved', gone), 10_000);
    expect(resolved.reply.title).toMatch(/^gpu-1 GPU 0: unknown VRAM back to 0 MiB after \d+ s firing$/);
  });
});

describe('/alerts', () => {
  it('lists what still fires: the unit enabled at boot', async () => {
    const listed = await lab.exec('/alerts host:gpu-1', ['--as', 'viewer']);
    expect(listed).toMatchObject({ code: 0, title: 'Alerts: 1 firing, 0 pending, 0 silenced' });
    expect((listed.data!.alerts as { key: string }[]).map((a) => a.key)).toEqual([`gpu-1:${lab.units['chat-unit']}:boot-service`]);
  });
});
