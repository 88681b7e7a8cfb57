import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startWorkerProcess, type CliProcess } from './support/cli.js';
import { waitFor } from './support/engines-helpers.js';
import { createLifecycleLab, jobRows, type LifecycleLab } from './support/lifecycle-lab.js';

const SLOW = 'chat-slow-llamacpp';

describe('a worker killed in the middle of a start', () => {
  let lab: LifecycleLab;
  const workers: CliProcess[] = [];

  beforeAll(async () => {
    lab = await createLifecycleLab({
      models: { [SLOW]: { fakeVramMiB: 1000, slowStartMs: 8000, startTimeout: '30s', config: { vramMiB: 1000 } } },
      // BullMQ re-runs a job of a dead worker once its 2 s lock has lapsed
      worker: { jobLockDuration: '2s', stalledInterval: '1s' },
    });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  });

  afterAll(async () => {
    await lab?.dispose();
  });

  it('is re-run by the next worker, which waits for the copy already starting: one model server, one answer', async () => {
    workers.push(await startWorkerProcess(lab));
    const exec = runCli(['exec', `/start ${SLOW}`, '--json'], lab.env, { timeoutMs: 60_000 });
    // the model server is loading (8 s): kill the worker in the middle of the start
    await waitFor(() => lab.servers(SLOW).length === 1, 15_000, 'the model server to start');
    const server = lab.servers(SLOW)[0];
    await workers[0]!.stop('SIGKILL');
    workers.push(await startWorkerProcess(lab));

    const result = await exec;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { title: string; data: { status: string; resumed: boolean; footprintMiB: number } };
    expect(json.title).toMatch(new RegExp(`^${SLOW} is ready on gpu-1 \\(\\d+ s\\)$`));
    expect(json.data).toMatchObject({ status: 'ready', resumed: true, footprintMiB: 1000 });
    expect(lab.servers(SLOW)).toEqual([server]);

    // one job, audited once (by the worker that finished it)
    await waitFor(async () => (await jobRows(lab, 'model.start')).length > 0, 5_000, 'the audit row');
    const rows = await jobRows(lab, 'model.start');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'ok' });
  });
});

describe('a start on a host where no GPU can be read', () => {
  let lab: LifecycleLab;
  let worker: CliProcess;

  beforeAll(async () => {
    lab = await createLifecycleLab({ gpu: false, models: { 'chat-small-llamacpp': { config: { vramMiB: 500_000 } } } });
    worker = await startWorkerProcess(lab);
  });

  afterAll(async () => {
    await worker?.stop();
    await lab?.dispose();
  });

  it('starts it and says the VRAM check was skipped', async () => {
    const result = await lab.execText('/start chat-small');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^⚠ chat-small-llamacpp is ready on gpu-1 \(\d+ s\)/);
    expect(result.stdout).toMatch(/VRAM check: +check skipped: no NVIDIA GPU \(nvidia-smi is not installed/);
    const stop = await lab.exec('/stop chat-small', ['--yes']);
    expect(stop.code, stop.raw).toBe(0);
  });
});
