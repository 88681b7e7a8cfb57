import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NO_GPU } from '../src/gpu/nvidia-smi.js';
import { NvidiaSmiMonitor } from '../src/gpu/sampler.js';
import { silentLogger } from '../src/core/logger.js';
import { nvidiaSmiProcesses } from './support/fake-nvidia-smi-harness.js';

const empty = mkdtempSync(join(tmpdir(), 'labops-no-gpu-'));
const savedPath = process.env.PATH;
beforeAll(() => {
  process.env.PATH = empty;
});
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(empty, { recursive: true, force: true });
});

it('reports "no NVIDIA GPU" when nvidia-smi is not on PATH, and everything else still works', async () => {
  const monitor = new NvidiaSmiMonitor('cpu-only', { enabled: true, sampleInterval: 200, appsInterval: 10_000 }, silentLogger());
  expect(await monitor.snapshot()).toEqual({ available: false, reason: NO_GPU, detail: expect.stringMatching(/not installed/) });
  monitor.start();
  expect(await monitor.snapshot()).toMatchObject({ available: false, reason: NO_GPU });
  expect(await monitor.processes()).toEqual([]);
  await monitor.stop();
  expect(nvidiaSmiProcesses()).toEqual([]);
});
