import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/process/spawn.js';
import {
  appsQueryArgs,
  classifyFailure,
  GPU_FIELDS,
  gpuQueryArgs,
  NO_GPU,
  parseAppsCsv,
  parseGpuCsv,
  parseGpuLine,
  queryApps,
  queryGpus,
  runNvidiaSmi,
} from '../src/gpu/nvidia-smi.js';
import { fakeNvidiaSmi, fixture, traceRows, type FakeState } from './support/fake-nvidia-smi-harness.js';

const UUID = 'GPU-0b573ac7-7324-01e3-7548-1b7ffdf79f5d';
const H100 = 'NVIDIA H100 80GB HBM3';

describe('parsing the H100 captures', () => {
  it('reads the idle, loaded and after GPU queries', () => {
    expect(parseGpuCsv(fixture('gpu-query-idle.csv'))).toEqual([
      { index: 0, uuid: UUID, name: H100, totalMiB: 81559, usedMiB: 0, freeMiB: 81079, utilPct: 0, tempC: 33, powerW: 77.63 },
    ]);
    expect(parseGpuCsv(fixture('gpu-query-loaded.csv'))).toEqual([
      { index: 0, uuid: UUID, name: H100, totalMiB: 81559, usedMiB: 72915, freeMiB: 8165, utilPct: 0, tempC: 35, powerW: 117.71 },
    ]);
    expect(parseGpuCsv(fixture('gpu-query-after.csv'))[0]).toMatchObject({ usedMiB: 0, freeMiB: 81079, tempC: 34, powerW: 118.22 });
  });

  it('reads [N/A] as null and several GPUs as several lines', () => {
    const two = `0, ${UUID}, ${H100}, 81559, 10, 81069, [N/A], [N/A], [N/A]\n1, GPU-x, ${H100}, 81559, 20, 81059, 5, [Not Supported], 70.5\n`;
    const gpus = parseGpuCsv(two);
    expect(gpus.map((g) => g.index)).toEqual([0, 1]);
    expect(gpus[0]).toMatchObject({ utilPct: null, tempC: null, powerW: null, usedMiB: 10 });
    expect(gpus[1]).toMatchObject({ uuid: 'GPU-x', utilPct: 5, tempC: null, powerW: 70.5 });
  });

  it('refuses a line that is not the GPU query, naming the field', () => {
    expect(() => parseGpuLine('No devices were found')).toThrow(/expected 9 fields/);
    expect(() => parseGpuLine(`0, ${UUID}, ${H100}, [N/A], 0, 81079, 0, 33, 77.63`)).toThrow(/memory\.total/);
  });

  it('reads the compute apps, and nothing when idle', () => {
    expect(parseAppsCsv(fixture('apps-idle.csv'))).toEqual([]);
    expect(parseAppsCsv(fixture('apps-loaded.csv'))).toEqual([
      { pid: 491, name: 'python3', usedMiB: 31330, gpuUuid: UUID },
      { pid: 514, name: 'python3', usedMiB: 41570, gpuUuid: UUID },
    ]);
    expect(parseAppsCsv(`7, [Not Found], [N/A], ${UUID}`)).toEqual([{ pid: 7, name: '[Not Found]', usedMiB: 0, gpuUuid: UUID }]);
  });

  it('classifies the captured failures', () => {
    const output = (name: string) => fixture(name).replace(/rc \d+\s*$/, '');
    expect(classifyFailure({ exitCode: 2, output: output('bad-field.txt') })).toEqual({
      reason: 'bad-field',
      field: 'bogus.field',
      detail: 'Field "bogus.field" is not a valid field to query.',
    });
    expect(classifyFailure({ exitCode: 6, output: output('bad-index.txt') })).toEqual({ reason: 'no-devices', detail: 'No devices were found' });
    expect(classifyFailure({ exitCode: 9, output: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure…" })).toMatchObject({
      reason: 'no-gpu',
    });
    expect(classifyFailure({ exitCode: -1, output: '', missing: true })).toMatchObject({ reason: 'no-gpu', detail: expect.stringMatching(/not installed/) });
    expect(classifyFailure({ exitCode: -1, output: '', signal: 'SIGKILL' })).toEqual({ reason: 'failed', detail: 'was killed by SIGKILL' });
  });
});

describe('the fake nvidia-smi replays the captures', () => {
  const fake = fakeNvidiaSmi();
  afterAll(() => fake.cleanup());
  const smi = async (args: string[]) => run(fake.bin, args, { env: { ...process.env, FAKE_NVIDIA_SMI_STATE: fake.statePath } });

  it('prints byte for byte what the H100 printed', async () => {
    const si = '--query-gpu=driver_version,pci.sub_device_id,name,pci.bus_id,fan.speed,memory.total,memory.used,memory.free,utilization.gpu,utilization.memory,temperature.gpu,temperature.memory,power.draw,power.limit,clocks.gr,clocks.mem';
    const cases: [FakeStateProfile, string[], string][] = [
      ['idle', gpuQueryArgs(), 'gpu-query-idle.csv'],
      ['loaded', gpuQueryArgs(), 'gpu-query-loaded.csv'],
      ['after', gpuQueryArgs(), 'gpu-query-after.csv'],
      ['idle', [si, '--format=csv,noheader,nounits'], 'si-query-idle.csv'],
      ['loaded', [si, '--format=csv,noheader,nounits'], 'si-query-loaded.csv'],
      ['idle', ['--query-gpu=index,uuid,name,memory.total,memory.used,memory.free', '--format=csv'], 'gpu-query-idle-header.csv'],
      ['idle', appsQueryArgs(), 'apps-idle.csv'],
      ['loaded', appsQueryArgs(), 'apps-loaded.csv'],
      ['loaded', ['--query-compute-apps=pid,process_name,used_gpu_memory', '--format=csv'], 'apps-loaded-header.csv'],
      ['idle', ['--query-gpu=persistence_mode,driver_version,name', '--format=csv'], 'persistence.csv'],
      ['idle', ['-L'], 'smi-L.txt'],
    ];
    for (const [profile, args, file] of cases) {
      fake.setState({ profile });
      const result = await smi(args);
      expect(result.exitCode, file).toBe(0);
      expect(`${result.stdout}\n`.replace(/^\n$/, ''), file).toBe(fixture(file));
    }
  });

  it('fails like the H100 for a bad field (exit 2) and a missing index (exit 6)', async () => {
    fake.setState({});
    const bad = await runNvidiaSmi(fake.bin, [`--query-gpu=${GPU_FIELDS.join(',')},bogus.field`, '--format=csv,noheader,nounits']);
    expect(bad).toEqual({ ok: false, failure: { reason: 'bad-field', field: 'bogus.field', detail: 'Field "bogus.field" is not a valid field to query.' } });
    expect((await smi(['--query-gpu=bogus.field', '--format=csv'])).exitCode).toBe(2);
    const index = await smi([...gpuQueryArgs(), '-i', '7']);
    expect([index.exitCode, index.stdout]).toEqual([6, 'No devices were found']);
    expect(await runNvidiaSmi(fake.bin, [...gpuQueryArgs(), '-i', '7'])).toEqual({ ok: false, failure: { reason: 'no-devices', detail: 'No devices were found' } });
  });
});

type FakeStateProfile = 'idle' | 'loaded' | 'after';

describe('the fake nvidia-smi replays the H100 trace (mode "trace")', () => {
  const fake = fakeNvidiaSmi();
  afterAll(() => fake.cleanup());
  const TRACE_QUERY = ['--query-gpu=timestamp,memory.used,memory.total,utilization.gpu', '--format=csv,noheader,nounits'];
  const trace = fixture('stream-trace.csv');

  /** Runs the fake with `-lms <ms>` and records its stdout chunks as the pipe delivered them, until it exits or `maxLines` arrived. */
  function stream(state: FakeState, args: string[], ms: number, maxLines = Infinity): Promise<{ chunks: string[]; code: number | null }> {
    fake.setState(state);
    return new Promise((resolve, reject) => {
      const child = spawn(fake.bin, [...args, '-lms', String(ms)], { env: { ...process.env, FAKE_NVIDIA_SMI_STATE: fake.statePath }, stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks: string[] = [];
      let lines = 0;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        chunks.push(chunk);
        lines += chunk.split('\n').length - 1;
        if (lines >= maxLines) child.kill();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ chunks, code }));
    });
  }

  it('prints the captured rows byte for byte under their own query, whole or split across chunks', async () => {
    const whole = await stream({ mode: 'trace', trace: { end: 'exit' } }, TRACE_QUERY, 5);
    expect(whole.code).toBe(0);
    expect(whole.chunks.join('')).toBe(trace);
    expect(whole.chunks.every((c) => c.endsWith('\n'))).toBe(true);

    const split = await stream({ mode: 'trace', trace: { end: 'exit' }, split: true }, TRACE_QUERY, 10);
    expect(split.code).toBe(0);
    expect(split.chunks.join('')).toBe(trace);
    const { chunks } = split;
    // a line broken in the middle, a write that ends inside a number, two lines in one write
    expect(chunks.some((c) => !c.includes('\n'))).toBe(true);
    expect(chunks.some((c, i) => /\d$/.test(c) && /^\d/.test(chunks[i + 1] ?? ''))).toBe(true);
    expect(chunks.some((c) => c.split('\n').length > 2)).toBe(true);
  });

  it('answers the sampler\'s query with the trace\'s values; a call without -lms gets the first row', async () => {
    const rows = traceRows();
    const { chunks } = await stream({ mode: 'trace', trace: { end: 'exit' } }, gpuQueryArgs(), 2);
    const gpus = parseGpuCsv(chunks.join(''));
    expect(gpus.map((g) => [g.usedMiB, g.totalMiB, g.utilPct])).toEqual(rows.map((r) => [r.usedMiB, r.totalMiB, r.utilPct]));
    expect(gpus.every((g) => g.freeMiB === g.totalMiB - g.usedMiB - 480)).toBe(true);
    const once = await run(fake.bin, TRACE_QUERY, { env: { ...process.env, FAKE_NVIDIA_SMI_STATE: fake.statePath } });
    expect(`${once.stdout}\n`).toBe(`${trace.split('\n')[0]}\n`);
  });

  it('after the last row: holds it (default), loops, or exits', async () => {
    const rows = trace.split('\n').filter(Boolean);
    const n = rows.length;
    const hold = (await stream({ mode: 'trace' }, TRACE_QUERY, 1, n + 3)).chunks.join('').split('\n');
    expect(hold.slice(0, n)).toEqual(rows);
    // the last row again, its timestamp one interval later each time
    expect(hold.slice(n, n + 3)).toEqual(['2026/11/26 05:53:34.842, 0, 81559, 0', '2026/11/26 05:53:34.843, 0, 81559, 0', '2026/11/26 05:53:34.844, 0, 81559, 0']);
    const loop = (await stream({ mode: 'trace', trace: { end: 'loop' } }, TRACE_QUERY, 1, n + 2)).chunks.join('').split('\n');
    // the first rows again, shifted by the trace's length (22.778 s) plus one captured interval (250 ms)
    expect(loop.slice(n, n + 2)).toEqual(['2026/11/26 05:53:35.091, 0, 81559, 0', '2026/11/26 05:53:35.345, 0, 81559, 0']);
  });
});

describe('one-shot queries', () => {
  const fake = fakeNvidiaSmi();
  let restore = () => undefined as void;
  beforeAll(() => {
    restore = fake.activate();
  });
  afterAll(() => {
    restore();
    fake.cleanup();
  });

  it('answers with the GPUs, or "no NVIDIA GPU" without a driver or a device', async () => {
    fake.setState({ usedMiB: 78100 });
    expect(await queryGpus('nvidia-smi')).toMatchObject({ available: true, gpus: [{ usedMiB: 78100, freeMiB: 2980, totalMiB: 81559 }] });
    fake.setState({ mode: 'no-driver' });
    expect(await queryGpus('nvidia-smi')).toEqual({ available: false, reason: NO_GPU, detail: expect.stringMatching(/couldn't communicate with the NVIDIA driver/) });
    expect(await queryApps('nvidia-smi')).toEqual([]);
    fake.setState({ mode: 'gone' });
    expect(await queryGpus('nvidia-smi')).toEqual({ available: false, reason: NO_GPU, detail: 'No devices were found' });
    expect(await queryGpus('/nonexistent/nvidia-smi')).toEqual({ available: false, reason: NO_GPU, detail: expect.stringMatching(/not installed/) });
  });

  it('lists the processes holding VRAM as the state says', async () => {
    fake.setState({ usedMiB: [1000, 2000], gpus: 2, apps: [{ pid: 42, usedMiB: 900 }, { pid: 43, name: 'llama-server', usedMiB: 1900, gpu: 1 }] });
    const apps = await queryApps('nvidia-smi');
    expect(apps).toEqual([
      { pid: 42, name: 'python3', usedMiB: 900, gpuUuid: UUID },
      { pid: 43, name: 'llama-server', usedMiB: 1900, gpuUuid: 'GPU-0b573ac7-7324-01e3-7548-1b7ffdf79f5e' },
    ]);
  });
});
