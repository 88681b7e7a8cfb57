import type { GpuInfo } from './monitor.js';

/**
 * Groups the sampler's lines (one per GPU per interval) into samples. A sample is complete when
 * `expected` lines arrived; an index that does not go up starts a new sample, which also corrects
 * `expected` if the number of GPUs changed.
 */
export class SampleGrouper {
  private group: GpuInfo[] = [];

  constructor(
    private expected: number,
    private readonly emit: (gpus: GpuInfo[]) => void,
  ) {}

  push(gpu: GpuInfo): void {
    const last = this.group.at(-1);
    if (last && gpu.index <= last.index) {
      this.expected = this.group.length;
      this.flush();
    }
    this.group.push(gpu);
    if (this.group.length >= this.expected) this.flush();
  }

  private flush(): void {
    const gpus = this.group;
    this.group = [];
    if (gpus.length) this.emit(gpus);
  }
}
