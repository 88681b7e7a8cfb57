import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startWorkerProcess, type CliProcess } from './support/cli.js';
import { createTestLab, ROOT, type TestLab } from './support/env.js';

interface StatusJson {
  outcome: string;
  data: {
    hosts: {
      host: string;
      online: boolean;
      problem: string | null;
      queue: Record<string, number>;
      snapshot: {
        facts: { cpu: { model: string; cores: number }; memory: { totalMiB: number }; os: string };
        gpu: { available: boolean; reason?: string; gpus?: { name: string; usedMiB: number; totalMiB: number }[] };
        models: { name: string; state: string; detail: string | null }[];
      } | null;
    }[];
    audit: { ok: boolean };
  };
}

describe('/status through the queue and a real worker', () => {
  let lab: TestLab;
  let worker: CliProcess;

  beforeAll(async () => {
    lab = createTestLab();
    const state = join(lab.dir, 'gpu-state.json');
    writeFileSync(state, JSON.stringify({ mode: 'ok', profile: 'loaded' }));
    lab.link('nvidia-smi', join(ROOT, 'test/support/fake-nvidia-smi'));
    worker = await startWorkerProcess(lab, 'gpu-1', { FAKE_NVIDIA_SMI_STATE: state });
  });

  afterAll(async () => {
    await worker?.stop();
    await lab?.cleanup();
  });

  it('answers with the host facts, the GPU and every model, and never starts one', async () => {
    const result = await runCli(['exec', '/status', '--as', 'viewer', '--json'], lab.env);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as StatusJson;
    const [host] = json.data.hosts;
    expect(host).toMatchObject({ host: 'gpu-1', online: true, problem: null });
    const snap = host!.snapshot!;
    expect(snap.facts.cpu.cores).toBeGreaterThan(0);
    expect(snap.facts.memory.totalMiB).toBeGreaterThan(0);
    expect(snap.gpu).toMatchObject({ available: true, gpus: [{ name: 'NVIDIA H100 80GB HBM3', usedMiB: 72915, totalMiB: 81559 }] });
    const models = Object.fromEntries(snap.models.map((m) => [m.name, m]));
    expect(models['chat-hermes-3-llama-3.1-8b']).toMatchObject({ state: 'stopped' });
    expect(models['embeddings-default']).toMatchObject({ state: 'unknown', detail: 'systemd not available' });
    expect(json.data.audit.ok).toBe(true);
  });

  it('renders a readable text reply from the live state, each value with its age', async () => {
    const result = await runCli(['exec', '/status', 'host:gpu-1'], lab.env);
    expect(result.code).toBe(0);
    // read straight from Redis: no job, so no "asking the worker" progress
    expect(result.stderr).not.toContain('asking the worker');
    expect(result.stdout).toMatch(/Live state: +models \d+ s ago · GPUs \d+ s ago · GPU processes (\d+ s ago|not reported) · host \d+ s ago/);
    expect(result.stdout).toMatch(/^ℹ Status of gpu-1/);
    expect(result.stdout).toMatch(/── gpu-1 — worker v\d+\.\d+\.\d+ up .* · queue 0 waiting · 0 running ──/);
    expect(result.stdout).toMatch(/GPU: +0 NVIDIA H100 80GB HBM3 ▓{9}░ 72,915 MiB \/ 81,559 MiB \(89 %\)/);
    expect(result.stdout).toMatch(/chat-hermes-3-llama-3\.1-8b +chat +script +stopped/);
    expect(result.stdout).toContain('Audit log: ok');
    // a one-host lab without LABOPS_JOB_KEY may run unsigned, and says so
    expect(result.stdout).toContain('Jobs: NOT signed — a one-host lab without LABOPS_JOB_KEY');
  });

  it('/models lists the inventory with live state', async () => {
    const result = await runCli(['exec', '/models', '--json'], lab.env);
    expect(result.code).toBe(0);
    const models = (JSON.parse(result.stdout) as { data: { models: Record<string, unknown>[] } }).data.models;
    expect(models).toContainEqual(
      expect.objectContaining({ name: 'chat-hermes-3-llama-3.1-8b', aliases: ['chat-hermes'], type: 'chat', engine: 'script', state: 'stopped', vramExpectedMiB: 9500, idleTtlMs: 1_800_000, pinned: false }),
    );
  });

  it('marks the host offline with its age once a crashed worker has missed three beats', async () => {
    await worker.stop('SIGKILL');
    // online until three heartbeat intervals (1 s) have passed without a beat
    let result = { code: null as number | null, stdout: '' };
    await expect
      .poll(async () => (result = await runCli(['exec', '/status'], lab.env)).stdout, { timeout: 15_000, interval: 200 })
      .toContain('── gpu-1 — offline');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^⚠ Status of gpu-1/);
    const age = /── gpu-1 — offline · queue 0 waiting · 0 running ──\n⚠ worker offline — last heartbeat (\d+) s ago/.exec(result.stdout);
    expect(age, result.stdout).not.toBeNull();
    expect(Number(age![1])).toBeGreaterThanOrEqual(3);
  });

  it('says at once that a worker stopped cleanly', async () => {
    const again = await startWorkerProcess(lab);
    expect(await again.stop('SIGTERM')).toBe(0);
    const result = await runCli(['exec', '/status'], lab.env);
    expect(result.stdout).toMatch(/⚠ worker stopped — last heartbeat \d+ s ago/);
  });
});

describe('/status on a host without an NVIDIA GPU', () => {
  let lab: TestLab;
  let worker: CliProcess;

  beforeAll(async () => {
    lab = createTestLab();
    worker = await startWorkerProcess(lab);
  });

  afterAll(async () => {
    await worker?.stop();
    await lab?.cleanup();
  });

  it('says "no NVIDIA GPU" and reports everything else', async () => {
    const result = await runCli(['exec', '/status'], lab.env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/GPU: +no NVIDIA GPU/);
    expect(result.stdout).toMatch(/CPU: /);
  });
});
