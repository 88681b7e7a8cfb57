import { COARSE_STEP_MS, FINE_STEP_MS, type StoredSample } from '../../state/vram-history.js';

export interface Downsampled {
  /** per GPU index: the first sample of each new second */
  fine: Map<number, StoredSample>;
  /** per GPU index: the highest sample of each minute that ended, at the minute's start */
  coarse: Map<number, StoredSample>;
}

/**
 * Turns the sampler's stream (any interval) into what the history keeps: at most one sample a
 * second, and the highest of each minute (so a spike stays visible at the coarse resolution).
 */
export class Downsampler {
  private readonly lastSecond = new Map<number, number>();
  private readonly minute = new Map<number, { bucket: number; max: StoredSample }>();

  push(t: number, gpus: readonly { index: number; sample: Omit<StoredSample, 't'> }[]): Downsampled {
    const out: Downsampled = { fine: new Map(), coarse: new Map() };
    const second = Math.floor(t / FINE_STEP_MS);
    const bucket = Math.floor(t / COARSE_STEP_MS);
    for (const { index, sample } of gpus) {
      const s: StoredSample = { t, ...sample };
      if (this.lastSecond.get(index) !== second) {
        this.lastSecond.set(index, second);
        out.fine.set(index, s);
      }
      const current = this.minute.get(index);
      if (current && current.bucket !== bucket) out.coarse.set(index, { ...current.max, t: current.bucket * COARSE_STEP_MS });
      if (!current || current.bucket !== bucket) this.minute.set(index, { bucket, max: s });
      else if (s.usedMiB > current.max.usedMiB) current.max = s;
    }
    return out;
  }

  /** the minutes not yet ended, as they are (at shutdown, so a short run leaves its minute too) */
  flush(): Map<number, StoredSample> {
    const out = new Map<number, StoredSample>();
    for (const [index, { bucket, max }] of this.minute) out.set(index, { ...max, t: bucket * COARSE_STEP_MS });
    this.minute.clear();
    return out;
  }
}
