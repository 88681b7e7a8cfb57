import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { readHistory } from '../src/state/vram-history.js';
import { REDIS_URL } from './support/env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, startWorkerProcess } from './support/cli.js';
import { waitFor } from './support/engines-helpers.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { createLifecycleLab, jobRows, type LifecycleLab } from './support/lifecycle-lab.js';

const HERMES = 'chat-hermes-3-llama-3.1-8b';

async function withRedis<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_URL);
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
const QWEN = 'chat-qwen2.5-0.5b-vllm';
const SLOW = 'chat-qwen3-slow-llamacpp';

describe('model lifecycle through labops exec and a real worker', () => {
  let lab: LifecycleLab;
  let worker: CliProcess;
  let ollama: FakeOllama;

  beforeAll(async () => {
    ollama = await startFakeOllama({ models: [{ name: 'mistral:7b', vramMiB: 4096 }] });
    lab = await createLifecycleLab({
      models: {
        [HERMES]: { fakeVramMiB: 9000, slowStartMs: 300, config: { aliases: ['chat-hermes'], vramMiB: 9500, idleTtl: '30m' } },
        [QWEN]: { fakeVramMiB: 4000, slowStartMs: 1500, config: { vramMiB: 4000 } },
        [SLOW]: { fakeVramMiB: 1000, slowStartMs: 6000, startTimeout: '20s', config: { vramMiB: 1000 } },
        'chat-crash-llamacpp': { crash: true, config: { vramMiB: 1000 } },
        'chat-never-llamacpp': { neverHealthy: true, startTimeout: '2s', config: { vramMiB: 1000 } },
      },
      otherModels: {
        'chat-mistral-7b-ollama': { type: 'chat', engine: { kind: 'ollama', url: ollama.url, model: 'mistral:7b', keepAlive: '5m' }, vramMiB: 4500 },
      },
      extraUsedMiB: () => (ollama.loaded().length > 0 ? 4096 : 0),
    });
    worker = await startWorkerProcess(lab);
  });

  afterAll(async () => {
    await worker?.stop();
    await lab?.dispose();
    await ollama?.close();
  });

  it('answers an ambiguous or unknown name with the candidates, closest first, and queues nothing', async () => {
    const ambiguous = await lab.exec('/start chat-qwen');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.title).toBe('"chat-qwen" matches 2 models.');
    expect(ambiguous.hint).toMatch(/^Candidates: chat-qwen2\.5-0\.5b-vllm, chat-qwen3-slow-llamacpp$/);
    const unknown = await lab.exec('/start hermes-3');
    expect(unknown.code).toBe(2);
    expect(unknown.title).toBe('Unknown model "hermes-3".');
    expect(unknown.hint).toMatch(/^Closest: chat-hermes-3-llama-3\.1-8b \(chat-hermes\)/);
    expect(await jobRows(lab, 'model.start')).toHaveLength(0);
  });

  it('refuses a start that does not fit, with the numbers and a "stop X and start" action that works', async () => {
    const qwen = await lab.exec(`/start ${QWEN}`);
    expect(qwen.code, qwen.raw).toBe(0);
    // 8,168 MiB free with qwen running: 6,120 MiB after the 2,048 MiB reserve
    lab.gpu.setFree(8168);
    await lab.gpu.sampled();

    const refused = await lab.exec('/start chat-hermes');
    expect(refused.code, refused.raw).toBe(1);
    expect(refused.outcome).toBe('failed');
    expect(refused.title).toBe(`Not starting ${HERMES} on gpu-1: needs 9,500 MiB; 6,120 MiB free after the 2,048 MiB reserve (3,380 MiB short).`);
    expect(refused.raw).toContain(QWEN);
    expect(refused.actions).toEqual([
      { label: `Stop ${QWEN} and start`, command: 'start', options: { model: HERMES, host: 'gpu-1', stop_first: QWEN }, style: 'primary' },
    ]);
    expect(lab.servers(HERMES)).toHaveLength(0);

    const force = await lab.exec('/start chat-hermes force:true', ['--as', 'operator']);
    expect(force.code).toBe(2);
    expect(force.outcome).toBe('denied');
    expect(force.title).toContain('force:true overrides the VRAM check and needs admin');

    // the button: its command line, run as whoever presses it
    const action = refused.actions[0]!;
    const line = `/${action.command} ${Object.entries(action.options).map(([k, v]) => `${k}:${String(v)}`).join(' ')}`;
    // a stop is confirmed however it is reached: without --yes nothing is stopped
    const unconfirmed = await lab.exec(line, ['--as', 'operator']);
    expect(unconfirmed.outcome, unconfirmed.raw).toBe('declined');
    expect(unconfirmed.stderr).toContain(`Stop ${QWEN} on gpu-1, then start ${HERMES}?: not confirmed`);
    expect(lab.servers(QWEN)).toHaveLength(1);
    const started = await lab.exec(line, ['--as', 'operator', '--yes']);
    expect(started.code, started.raw).toBe(0);
    expect(started.title).toMatch(new RegExp(`^${HERMES.replace(/\./g, '\\.')} is ready on gpu-1 \\(\\d+ s\\)$`));
    const data = started.data as { stopped: { model: string; freedMiB: number }[]; admission: { verdict: string }; footprintMiB: number };
    expect(data.stopped).toEqual([expect.objectContaining({ model: QWEN, alreadyStopped: false, freedMiB: 4000 })]);
    expect(data.admission.verdict).toBe('admit');
    expect(data.footprintMiB).toBe(9000);
    expect(lab.servers(QWEN)).toHaveLength(0);
    expect(lab.servers(HERMES)).toHaveLength(1);
    lab.gpu.setFree(60_000);
  });

  it('answers "already running" for a healthy model and touches nothing', async () => {
    const before = lab.servers(HERMES);
    const again = await lab.exec('/start chat-hermes');
    expect(again.code, again.raw).toBe(0);
    expect(again.title).toBe(`${HERMES} is already running on gpu-1; nothing was touched.`);
    expect(lab.servers(HERMES)).toEqual(before);
  });

  it('/models shows the measured footprint and why the model is not unloaded when idle', async () => {
    const models = await lab.exec('/models');
    expect(models.code).toBe(0);
    const hermes = (models.data!.models as Record<string, unknown>[]).find((m) => m.name === HERMES);
    expect(hermes).toMatchObject({
      state: 'running',
      vramExpectedMiB: 9500,
      vramMeasuredMiB: 9000,
      vramMiB: 9000,
      idleTtlMs: 1_800_000,
      pinned: false,
      idleUnload: { mode: 'never', note: expect.stringContaining('no request source') },
    });
    const text = await lab.execText('/models');
    expect(text.stdout).toMatch(/VRAM measured/);
    expect(text.stdout).toMatch(/9,500 MiB +9,000 MiB +9,000 MiB +30 min +never: no request source/);
  });

  it('/stop asks in the shell, says what it frees, and a stopped model answers without asking', async () => {
    const shell = new CliProcess(['shell'], lab.env);
    try {
      await shell.waitFor(/labops> /);
      shell.write('/stop chat-hermes');
      const question = await shell.waitFor(/Stop chat-hermes-3-llama-3\.1-8b\? \[y\/N\]/, { timeoutMs: 20_000 });
      expect(question).toBeTruthy();
      expect(shell.stdout).toContain(`⚠ Stop ${HERMES} on gpu-1?`);
      expect(shell.stdout).toContain('It frees about 9,000 MiB of VRAM (held now).');
      expect(shell.stdout).toContain(`Requests in flight to ${HERMES} will fail.`);
      const from = shell.stdout.length;
      shell.write('y');
      await shell.waitFor(/✔ chat-hermes-3-llama-3\.1-8b is stopped on gpu-1; freed 9,000 MiB\./, { from, timeoutMs: 20_000 });
      shell.write('/quit');
      expect(await shell.wait()).toBe(0);
    } finally {
      await shell.stop();
    }
    expect(lab.servers(HERMES)).toHaveLength(0);
    expect(lab.unitState(HERMES)).toBe('inactive');

    const again = await lab.execText('/stop chat-hermes');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${HERMES} is already stopped on gpu-1; nothing was touched.`);
    expect(again.stderr).not.toContain('not confirmed');
  });

  it('/stop without --yes asks and, declined, stops nothing', async () => {
    await lab.exec(`/start ${QWEN}`);
    const declined = await lab.execText(`/stop ${QWEN}`);
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain(`Stop ${QWEN} on gpu-1?: not confirmed`);
    expect(declined.stdout).toContain(`⚠ ${QWEN} was not stopped.\n${QWEN} is running. It frees about 4,000 MiB of VRAM (held now).\nRequests in flight to ${QWEN} will fail.`);
    expect(lab.servers(QWEN)).toHaveLength(1);
    const stopped = await lab.exec(`/stop ${QWEN}`, ['--yes']);
    expect(stopped.code, stopped.raw).toBe(0);
    expect(stopped.data).toMatchObject({ status: 'stopped', freedMiB: 4000 });
    expect(lab.servers(QWEN)).toHaveLength(0);
    // the start and the stop are marked on the VRAM chart, with who asked
    const history = await withRedis((redis) => readHistory(redis, lab.prefix, 'gpu-1', { now: Date.now(), windowMs: 3_600_000 }));
    const marks = history.events.filter((e) => e.model === QWEN);
    expect(marks.map((e) => e.kind).slice(-2)).toEqual(['start', 'stop']);
    expect(marks.at(-1)!.by).toBeTruthy();
  });

  it('shows progress while it starts: starting, waiting for health, ready', async () => {
    const result = await lab.execText(`/start ${QWEN}`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toContain('… queued: start chat-qwen2.5-0.5b-vllm on gpu-1');
    expect(result.stderr).toContain('… starting');
    expect(result.stderr).toMatch(/… waiting for health \d+ s/);
    expect(result.stderr).toMatch(/… ready in \d+ s/);
    expect(result.stdout).toMatch(new RegExp(`^✔ ${QWEN.replace(/\./g, '\\.')} is ready on gpu-1 \\(\\d+ s\\)`));
    expect(result.stdout).toMatch(/VRAM check: +fits: needs 4,000 MiB \(measured\); [\d,]+ MiB free after the 2,048 MiB reserve/);
    const stop = await lab.exec(`/stop ${QWEN}`, ['--yes']);
    expect(stop.code).toBe(0);
  });

  it('two concurrent /start of one model start it once; the second follows the first job and both answer', async () => {
    const rowsBefore = (await jobRows(lab, 'model.start')).length;
    const first = lab.exec(`/start ${SLOW}`);
    // the second arrives while the first is starting (the model takes 6 s to load)
    await waitFor(() => lab.servers(SLOW).length === 1, 15_000, 'the first start');
    const [a, b] = await Promise.all([first, lab.execText('/start chat-qwen3')]);
    expect(a.code, a.raw).toBe(0);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(a.title).toMatch(/is ready on gpu-1/);
    const jobId = (a.data as { jobId: string; joined: boolean }).jobId;
    expect((a.data as { joined: boolean }).joined).toBe(false);
    expect(b.stdout).toMatch(new RegExp(`^✔ ${SLOW} is ready on gpu-1`));
    expect(b.stdout).toContain(`Another request was already starting it: this answer follows job ${jobId}`);
    expect(b.stderr).toContain(`… ${SLOW} is already being started (job ${jobId}); following it`);
    expect(b.stderr).toMatch(/… waiting for health \d+ s/);
    expect(b.stderr).toMatch(/… ready in \d+ s/);
    expect(lab.servers(SLOW)).toHaveLength(1);
    await waitFor(async () => (await jobRows(lab, 'model.start')).length === rowsBefore + 1, 5_000, 'the audit row');
    expect(await jobRows(lab, 'model.start')).toHaveLength(rowsBefore + 1);
    await lab.exec(`/stop ${SLOW}`, ['--yes']);
  });

  it('reports a model that dies while starting with its last log lines', async () => {
    const result = await lab.exec('/start chat-crash');
    expect(result.code).toBe(1);
    expect(result.title).toBe('chat-crash-llamacpp failed while starting (exited with 1).');
    const logLines = (result.data as { logLines: string[] }).logLines;
    expect(logLines.join('\n')).toContain("failed to load model 'chat-crash-llamacpp': out of memory");
    expect(logLines.at(-1)).toMatch(/Failed with result 'exit-code'/);
    const text = await lab.execText('/start chat-crash');
    expect(text.stdout).toMatch(/^✖ chat-crash-llamacpp failed while starting \(exited with 1\)\.\nLast log lines:\n/);
    expect(text.stdout).toContain('out of memory');
    expect(lab.servers('chat-crash-llamacpp')).toHaveLength(0);
  });

  it('gives up after the health timeout and says so', async () => {
    const result = await lab.exec('/start chat-never');
    expect(result.code).toBe(1);
    expect(result.title).toMatch(/^chat-never-llamacpp is not healthy after 2 s: http:\/\/127\.0\.0\.1:\d+\/health: 503 loading model\.$/);
    expect(result.hint).toContain('/stop chat-never-llamacpp');
    const stop = await lab.exec('/stop chat-never', ['--yes']);
    expect(stop.code, stop.raw).toBe(0);
    expect(lab.servers('chat-never-llamacpp')).toHaveLength(0);
  });

  it('starts an Ollama model and records the size_vram it reports as its footprint', async () => {
    const result = await lab.exec('/start chat-mistral');
    expect(result.code, result.raw).toBe(0);
    expect(result.data).toMatchObject({ status: 'ready', footprintMiB: 4096 });
    expect(ollama.loaded()).toEqual(['mistral:7b']);
    const models = await lab.exec('/models');
    const mistral = (models.data!.models as Record<string, unknown>[]).find((m) => m.name === 'chat-mistral-7b-ollama');
    expect(mistral).toMatchObject({ vramMeasuredMiB: 4096, idleUnload: { mode: 'engine' } });
    const stop = await lab.exec('/stop chat-mistral', ['--yes']);
    expect(stop.code, stop.raw).toBe(0);
    expect(ollama.loaded()).toEqual([]);
  });

  it('audits every job with who asked', async () => {
    const rows = await jobRows(lab, 'model.stop');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.kind === 'job' && r.host === 'gpu-1' && r.outcome === 'ok')).toBe(true);
    expect(existsSync(lab.configFile)).toBe(true);
  });
});
