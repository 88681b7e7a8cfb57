import { run } from '../process/spawn.js';
import type { GpuInfo, GpuProcess, GpuSnapshot } from './monitor.js';

export const GPU_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.total',
  'memory.used',
  'memory.free',
  'utilization.gpu',
  'temperature.gpu',
  'power.draw',
] as const;
export const APP_FIELDS = ['pid', 'process_name', 'used_gpu_memory', 'gpu_uuid'] as const;
export const CSV_FORMAT = '--format=csv,noheader,nounits';

export const NO_GPU = 'no NVIDIA GPU';

export const gpuQueryArgs = (): string[] => [`--query-gpu=${GPU_FIELDS.join(',')}`, CSV_FORMAT];
export const appsQueryArgs = (): string[] => [`--query-compute-apps=${APP_FIELDS.join(',')}`, CSV_FORMAT];

/** Why a call of nvidia-smi gave no data. */
export type SmiFailure =
  /** not installed, or installed without a working driver (exit 9) */
  | { reason: 'no-gpu'; detail: string }
  /** the driver answers but sees no GPU, or not the one asked for with -i (exit 6) */
  | { reason: 'no-devices'; detail: string }
  /** a --query-* field this nvidia-smi does not know (exit 2) */
  | { reason: 'bad-field'; field: string; detail: string }
  | { reason: 'failed'; detail: string };

export class NvidiaSmiError extends Error {
  override readonly name = 'NvidiaSmiError';
  constructor(readonly failure: SmiFailure) {
    super(failure.reason === 'bad-field' ? `nvidia-smi does not know the field "${failure.field}": ${failure.detail}` : `nvidia-smi: ${failure.detail}`);
  }
}

/** Values nvidia-smi prints in place of a number it cannot read. */
const NOT_A_VALUE = /^\[(N\/A|Not Supported|Unknown Error|Insufficient Permissions|GPU is lost)\]$/;

function numberOrNull(raw: string, field: string): number | null {
  if (NOT_A_VALUE.test(raw)) return null;
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n)) throw new Error(`nvidia-smi printed ${JSON.stringify(raw)} for ${field}, expected a number`);
  return n;
}

function required(raw: string, field: string): number {
  const n = numberOrNull(raw, field);
  if (n === null) throw new Error(`nvidia-smi printed ${raw} for ${field}`);
  return n;
}

/** One line of the GPU_FIELDS query. Names may hold ", ", so the fixed-width ends are taken first. */
export function parseGpuLine(line: string): GpuInfo {
  const cells = line.split(', ').map((c) => c.trim());
  if (cells.length < GPU_FIELDS.length) throw new Error(`expected ${GPU_FIELDS.length} fields from nvidia-smi, got ${JSON.stringify(line)}`);
  const tail = cells.slice(-6);
  const [total, used, free, util, temp, power] = tail as [string, string, string, string, string, string];
  return {
    index: required(cells[0]!, 'index'),
    uuid: cells[1]!,
    name: cells.slice(2, -6).join(', '),
    totalMiB: required(total, 'memory.total'),
    usedMiB: required(used, 'memory.used'),
    freeMiB: required(free, 'memory.free'),
    utilPct: numberOrNull(util, 'utilization.gpu'),
    tempC: numberOrNull(temp, 'temperature.gpu'),
    powerW: numberOrNull(power, 'power.draw'),
  };
}

/** A GPU line, or null for anything else the stream may carry (an error message, a blank line). */
export function tryParseGpuLine(line: string): GpuInfo | null {
  try {
    return parseGpuLine(line);
  } catch {
    return null;
  }
}

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

export const parseGpuCsv = (text: string): GpuInfo[] => lines(text).map(parseGpuLine);

/** The APP_FIELDS query; nothing at all when no process holds VRAM. used_gpu_memory [N/A] reads as 0. */
export function parseAppsCsv(text: string): GpuProcess[] {
  return lines(text).map((line) => {
    const cells = line.split(', ').map((c) => c.trim());
    if (cells.length < APP_FIELDS.length) throw new Error(`expected ${APP_FIELDS.length} fields from nvidia-smi, got ${JSON.stringify(line)}`);
    return {
      pid: required(cells[0]!, 'pid'),
      name: cells.slice(1, -2).join(', '),
      usedMiB: numberOrNull(cells.at(-2)!, 'used_gpu_memory') ?? 0,
      gpuUuid: cells.at(-1)!,
    };
  });
}

/** What a failed call means, from its exit code and what it printed (nvidia-smi prints its errors on stdout). */
export function classifyFailure(result: { exitCode: number; output: string; missing?: boolean; timedOut?: boolean; signal?: string }): SmiFailure {
  const output = result.output.trim();
  const firstLine = lines(output)[0] ?? '';
  if (result.missing) return { reason: 'no-gpu', detail: 'nvidia-smi is not installed (not found on PATH)' };
  if (result.timedOut) return { reason: 'failed', detail: 'nvidia-smi did not answer in time' };
  if (/couldn't communicate with the NVIDIA driver|NVIDIA driver is not loaded|libnvidia-ml\.so|NVML Shared Library Not Found/i.test(output) || result.exitCode === 9) {
    return { reason: 'no-gpu', detail: firstLine || `nvidia-smi exited with ${result.exitCode} (no driver)` };
  }
  if (/No devices were found/i.test(output) || result.exitCode === 6) return { reason: 'no-devices', detail: firstLine || 'No devices were found' };
  const field = /Field "([^"]*)" is not a valid field to query/.exec(output);
  if (field) return { reason: 'bad-field', field: field[1]!, detail: firstLine };
  const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
  return { reason: 'failed', detail: firstLine ? `${how}: ${firstLine}` : how };
}

/** The snapshot that says why there is no data; never thrown. */
export function unavailable(failure: SmiFailure): GpuSnapshot {
  if (failure.reason === 'no-gpu' || failure.reason === 'no-devices') return { available: false, reason: NO_GPU, detail: failure.detail };
  return { available: false, reason: 'nvidia-smi failed', detail: new NvidiaSmiError(failure).message };
}

export type SmiResult = { ok: true; stdout: string } | { ok: false; failure: SmiFailure };

export async function runNvidiaSmi(bin: string, args: readonly string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<SmiResult> {
  const result = await run(bin, args, { timeoutMs: opts.timeoutMs ?? 10_000, ...(opts.signal ? { signal: opts.signal } : {}) });
  opts.signal?.throwIfAborted();
  if (result.exitCode === 0 && !result.timedOut) return { ok: true, stdout: result.stdout };
  return { ok: false, failure: classifyFailure({ ...result, output: `${result.stdout}\n${result.stderr}` }) };
}

/** One query of every GPU; the "no NVIDIA GPU" answer where there is none. */
export async function queryGpus(bin: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<GpuSnapshot> {
  const result = await runNvidiaSmi(bin, gpuQueryArgs(), opts);
  if (!result.ok) return unavailable(result.failure);
  try {
    return { available: true, at: Date.now(), gpus: parseGpuCsv(result.stdout) };
  } catch (err) {
    return { available: false, reason: 'nvidia-smi failed', detail: (err as Error).message };
  }
}

/** Processes holding VRAM; none where there is no GPU. Other failures throw NvidiaSmiError. */
export async function queryApps(bin: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<GpuProcess[]> {
  const result = await runNvidiaSmi(bin, appsQueryArgs(), opts);
  if (result.ok) return parseAppsCsv(result.stdout);
  if (result.failure.reason === 'no-gpu' || result.failure.reason === 'no-devices') return [];
  throw new NvidiaSmiError(result.failure);
}
