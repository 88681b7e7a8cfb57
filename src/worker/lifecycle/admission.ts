import type { Admission, Candidate } from '../../contracts/model-start.js';

/** A model that runs now, as admission sees it. */
export interface RunningModel {
  name: string;
  /** what its stop would free: VRAM measured now, else its footprint, else its declared VRAM (MiB) */
  vramMiB: number;
  pinned: boolean;
  /** when its last request was seen (ms since the epoch); null: none seen; undefined: no source says */
  lastRequestAt?: number | null;
  /** why its requests could not be read: it is then never offered for a stop */
  activityError?: string;
}

export type GpuFree = { available: true; freeMiB: number; totalMiB: number } | { available: false; reason: string };

export interface AdmissionInput {
  model: string;
  /** the VRAM the model needs (MiB) */
  needMiB: number;
  /** measured: a footprint recorded after an earlier start; declared: `vramMiB` of the inventory */
  needSource: 'measured' | 'declared';
  gpu: GpuFree;
  /** kept free for everything that is not a model (MiB, the host's `vramReserveMiB`) */
  reserveMiB: number;
  running: readonly RunningModel[];
  /** admin override: start even when it does not fit */
  force: boolean;
  now: number;
  /** a model with a request within this long is busy and not offered for a stop */
  busyWithinMs: number;
}

type Numbers = Pick<Admission, 'model' | 'needMiB' | 'needSource'>;
type Measured = Omit<Extract<Admission, { verdict: 'admit' }>, 'verdict'>;

/**
 * Whether a model may start: its VRAM must fit in the free VRAM minus the reserve. Where it does
 * not, says which idle, unpinned running models would make room if stopped. Pure: the caller
 * gathers the numbers.
 */
export function admit(input: AdmissionInput): Admission {
  const base: Numbers = { model: input.model, needMiB: input.needMiB, needSource: input.needSource };
  if (!input.gpu.available) return { verdict: 'skipped', reason: input.gpu.reason, ...base };
  const freeMiB = input.gpu.freeMiB;
  const availableMiB = freeMiB - input.reserveMiB;
  const measured: Measured = { ...base, freeMiB, reserveMiB: input.reserveMiB, availableMiB };
  if (input.needMiB <= 0 || input.needMiB <= availableMiB) return { verdict: 'admit', ...measured };
  const shortMiB = input.needMiB - availableMiB;
  if (input.force) return { verdict: 'forced', shortMiB, ...measured };

  const others = input.running.filter((m) => m.name !== input.model && !m.pinned && m.vramMiB > 0);
  const notOffered = others.flatMap((m) => (m.activityError ? [{ name: m.name, reason: m.activityError }] : []));
  const idle = others
    .filter((m) => !m.activityError)
    .filter((m) => !(typeof m.lastRequestAt === 'number' && input.now - m.lastRequestAt < input.busyWithinMs))
    .map((m): Candidate => ({ name: m.name, vramMiB: m.vramMiB, lastRequestAt: m.lastRequestAt }));

  const candidates = idle.filter((m) => m.vramMiB >= shortMiB).sort((a, b) => a.vramMiB - b.vramMiB || a.name.localeCompare(b.name));
  let combination: Candidate[] | null = null;
  if (candidates.length === 0) {
    let freed = 0;
    const picked: Candidate[] = [];
    for (const m of [...idle].sort((a, b) => b.vramMiB - a.vramMiB || a.name.localeCompare(b.name))) {
      picked.push(m);
      freed += m.vramMiB;
      if (freed >= shortMiB) {
        combination = picked;
        break;
      }
    }
  }
  return { verdict: 'refuse', shortMiB, candidates, combination, notOffered, ...measured };
}

/** The free VRAM of a host's GPUs, summed, from a GPU snapshot. */
export function gpuFree(snapshot: { available: true; gpus: { freeMiB: number; totalMiB: number }[] } | { available: false; reason: string; detail?: string }): GpuFree {
  if (!snapshot.available) return { available: false, reason: snapshot.detail ? `${snapshot.reason} (${snapshot.detail})` : snapshot.reason };
  if (snapshot.gpus.length === 0) return { available: false, reason: 'nvidia-smi listed no GPU' };
  return {
    available: true,
    freeMiB: snapshot.gpus.reduce((n, g) => n + g.freeMiB, 0),
    totalMiB: snapshot.gpus.reduce((n, g) => n + g.totalMiB, 0),
  };
}
