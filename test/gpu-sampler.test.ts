import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../src/config/schema.js';
import type { GpuSnapshot } from '../src/gpu/monitor.js';
import { NO_GPU } from '../src/gpu/nvidia-smi.js';
import { NvidiaSmiMonitor } from '../src/gpu/sampler.js';
import { silentLogger } from '../src/core/logger.js';
import { fakeNvidiaSmi, nvidiaSmiProcesses, pidAlive, traceRows, waitFor, type FakeNvidiaSmi } from './support/fake-nvidia-smi-harness.js';

const INTERVAL = 200;
const gpuConfig = (over: Partial<HostConfig['gpu']> = {}): HostConfig['gpu'] => ({ enabled: true, sampleInterval: INTERVAL, appsInterval: 10_000, ...over });

/** Resolves with the first sample that `match` accepts. */
function nextSample(monitor: NvidiaSmiMonitor, match: (s: Extract<GpuSnapshot, { available: true }>) => boolean = () => true, timeoutMs = 10_000) {
  return new Promise<Extract<GpuSnapshot, { available: true }>>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching GPU sample within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = monitor.onSample((s) => {
      if (s.available && match(s)) {
        clearTimeout(timer);
        off();
        resolve(s);
      }
    });
  });
}

let fake: FakeNvidiaSmi;
let restore: () => void;
const monitors: NvidiaSmiMonitor[] = [];
const monitor = (gpu = gpuConfig(), logger = silentLogger()) => {
  const m = new NvidiaSmiMonitor('gpu-test', gpu, logger);
  monitors.push(m);
  return m;
};

/** A logger whose JSON lines a test can read back. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _enc, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) }));
  return { logger, lines };
}

const EXITED = 'the nvidia-smi sampler exited';

beforeAll(() => {
  fake = fakeNvidiaSmi();
  restore = fake.activate();
});
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
  expect(nvidiaSmiProcesses()).toEqual([]);
});
afterAll(() => {
  restore();
  fake.cleanup();
});

describe('NvidiaSmiMonitor against the fake nvidia-smi', () => {
  it('samples through exactly one long-lived nvidia-smi and follows VRAM as it changes', async () => {
    fake.setState({});
    const calls = fake.invocations().length;
    const m = monitor();
    const first = nextSample(m);
    m.start();
    expect((await first).gpus).toEqual([expect.objectContaining({ index: 0, usedMiB: 0, totalMiB: 81559, name: 'NVIDIA H100 80GB HBM3' })]);
    for (let i = 0; i < 3; i++) {
      await nextSample(m);
      expect(nvidiaSmiProcesses()).toEqual([m.samplerPid]);
    }
    fake.setState({ usedMiB: 78100 });
    const raised = await nextSample(m, (s) => s.gpus[0]!.usedMiB === 78100);
    expect(raised.gpus[0]).toMatchObject({ freeMiB: 2980, tempC: 35 });
    expect(await m.snapshot()).toMatchObject({ available: true, gpus: [{ usedMiB: 78100 }] });
    // one query to learn the GPUs, then the stream: no process per sample
    const spawned = fake.invocations().slice(calls);
    expect(spawned).toHaveLength(2);
    expect(spawned[1]).toEqual([expect.stringMatching(/^--query-gpu=index,uuid,name,memory\.total/), '--format=csv,noheader,nounits', '-lms', String(INTERVAL)]);
  });

  it('groups the lines of several GPUs into one sample per interval', async () => {
    fake.setState({ gpus: 3, usedMiB: [100, 200, 300] });
    const m = monitor();
    m.start();
    const samples: number[][] = [];
    await new Promise<void>((resolve) => {
      const off = m.onSample((s) => {
        if (s.available) samples.push(s.gpus.map((g) => g.usedMiB));
        if (samples.length === 4) {
          off();
          resolve();
        }
      });
    });
    expect(samples).toEqual(Array(4).fill([100, 200, 300]));
  });

  it('restarts the sampler after it is killed, and stop() leaves no child', async () => {
    fake.setState({});
    const m = monitor();
    m.start();
    await nextSample(m);
    const killed = m.samplerPid!;
    process.kill(killed, 'SIGKILL');
    await waitFor(() => !pidAlive(killed), 'the killed sampler to go');
    const after = await nextSample(m);
    expect(after.available).toBe(true);
    expect(m.samplerPid).toBeDefined();
    expect(m.samplerPid).not.toBe(killed);
    expect(nvidiaSmiProcesses()).toEqual([m.samplerPid]);
    await m.stop();
    expect(nvidiaSmiProcesses()).toEqual([]);
    expect(m.samplerPid).toBeUndefined();
  });

  it('says "no NVIDIA GPU" when the GPU goes away, and recovers when it is back', async () => {
    fake.setState({});
    const m = monitor();
    m.start();
    await nextSample(m);
    fake.setState({ mode: 'gone' });
    await waitFor(async () => {
      const s = await m.snapshot();
      return !s.available && s.reason === NO_GPU;
    }, 'snapshot to say no NVIDIA GPU');
    fake.setState({ usedMiB: 1234 });
    await nextSample(m, (s) => s.gpus[0]!.usedMiB === 1234);
  });

  it('answers snapshot() with a one-off query before the first sample', async () => {
    fake.setState({ usedMiB: 4242 });
    const m = monitor();
    const [a, b] = await Promise.all([m.snapshot(), m.snapshot()]);
    expect(a).toMatchObject({ available: true, gpus: [{ usedMiB: 4242 }] });
    expect(b).toBe(a);
    expect(nvidiaSmiProcesses()).toEqual([]);
  });

  it('lists processes once per call, honouring the signal', async () => {
    fake.setState({ usedMiB: 900, apps: [{ pid: 77, name: 'llama-server', usedMiB: 850 }] });
    const m = monitor();
    expect(await m.processes()).toEqual([{ pid: 77, name: 'llama-server', usedMiB: 850, gpuUuid: 'GPU-0b573ac7-7324-01e3-7548-1b7ffdf79f5d' }]);
    await expect(m.processes(AbortSignal.abort())).rejects.toThrow();
  });

  it('spawns nothing when sampling is disabled in labops.yaml', async () => {
    const calls = fake.invocations().length;
    const m = monitor(gpuConfig({ enabled: false }));
    m.start();
    expect(await m.snapshot()).toEqual({ available: false, reason: expect.stringMatching(/disabled in labops\.yaml/) });
    expect(await m.processes()).toEqual([]);
    expect(fake.invocations()).toHaveLength(calls);
    expect(nvidiaSmiProcesses()).toEqual([]);
  });

  it('reports the last lines the sampler printed before it died, not the first ones', async () => {
    // what a sampler stream printed before exit 15: an old driver complaint, then the real reason
    const lines = [
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
      'earlier line 2',
      'earlier line 3',
      'earlier line 4',
      'Unable to determine the device handle for GPU0000:00:06.0: Unknown Error',
      'line 6',
      'line 7',
      'No devices were found',
    ];
    fake.setState({ die: { after: 2, lines, exitCode: 15 } });
    const { logger, lines: logs } = capturingLogger();
    const m = monitor(gpuConfig(), logger);
    const samples: GpuSnapshot[] = [];
    m.onSample((s) => samples.push(s));
    m.start();
    const exited = await waitFor(() => logs.find((l) => l.msg === EXITED), 'the sampler to exit');
    await m.stop();
    // the two samples before it died were samples, not "lines that say why"
    expect(samples).toHaveLength(2);
    // the last four lines: "No devices were found" is among them, the driver line is not
    expect(exited.failure).toEqual({ reason: 'no-devices', detail: lines[4] });
  });

  it('counts a last line without its newline, on stderr too', async () => {
    const lines = ['e1', 'e2', 'e3', 'e4', 'e5', 'No devices were found'];
    fake.setState({ die: { after: 1, lines, exitCode: 15, stream: 'stderr', partial: true } });
    const { logger, lines: logs } = capturingLogger();
    const m = monitor(gpuConfig(), logger);
    m.start();
    const exited = await waitFor(() => logs.find((l) => l.msg === EXITED), 'the sampler to exit');
    await m.stop();
    expect(exited.failure).toEqual({ reason: 'no-devices', detail: 'e3' });
  });
});

describe('NvidiaSmiMonitor fed by the H100 trace (stream-trace.csv)', () => {
  const trace = traceRows();
  const RESERVED_MIB = 480; // memory.total - memory.used - memory.free of the idle capture

  it.each([
    ['whole lines', false],
    ['lines split across chunks', true],
  ])('publishes exactly the samples of the trace, in order, from %s', async (_name, split) => {
    fake.setState({ mode: 'trace', trace: { end: 'exit' }, split });
    const { logger, lines: logs } = capturingLogger();
    const m = monitor(gpuConfig({ sampleInterval: 20 }), logger);
    const samples: Extract<GpuSnapshot, { available: true }>[] = [];
    m.onSample((s) => {
      if (s.available) samples.push(s);
    });
    m.start();
    // the trace ends with exit 0; the sampler waits a second before it starts another
    const exited = await waitFor(() => logs.find((l) => l.msg === EXITED), 'the trace to end', 15_000);
    await m.stop();
    expect(exited.failure).toEqual({ reason: 'failed', detail: 'exited with 0' });
    expect(samples.every((s) => s.gpus.length === 1 && s.gpus[0]!.index === 0 && s.gpus[0]!.name === 'NVIDIA H100 80GB HBM3')).toBe(true);
    expect(samples.map((s) => ({ usedMiB: s.gpus[0]!.usedMiB, totalMiB: s.gpus[0]!.totalMiB, utilPct: s.gpus[0]!.utilPct }))).toEqual(
      trace.map((r) => ({ usedMiB: r.usedMiB, totalMiB: r.totalMiB, utilPct: r.utilPct })),
    );
    expect(samples.map((s) => s.gpus[0]!.freeMiB)).toEqual(trace.map((r) => r.totalMiB - r.usedMiB - RESERVED_MIB));
    // nothing else was taken for a reason to exit
    expect(logs.filter((l) => (l.level as number) >= 40).map((l) => l.msg)).toEqual([EXITED]);
  });
});
