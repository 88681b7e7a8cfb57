/** 72915 → "72,915", as /status writes it */
export const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

export const percentOf = (used: number, total: number) => (total > 0 ? (used / total) * 100 : 0);

/** "72,915 / 81,559 MiB (89 %)" */
export const usage = (used: number, total: number) => `${grouped(used)} / ${grouped(total)} MiB (${Math.round(percentOf(used, total))} %)`;

/** "NVIDIA H100 80GB HBM3" → "H100 80GB HBM3" */
export const shortGpuName = (name: string) => name.replace(/^NVIDIA\s+/i, '');
