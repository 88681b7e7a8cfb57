import { existsSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import si from 'systeminformation';
import type { HostFactsSnapshot } from '../contracts/lab-data.js';


const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Host facts from systeminformation. What does not change (CPU model, OS) is read once;
 * `currentLoad()` measures between two calls, so `prime()` makes its first call (~0.5 s) at
 * worker start rather than inside the first /status.
 */
export class HostFacts {
  private fixed: Promise<{ hostname: string; os: string; kernel: string; cpuModel: string; cores: number }> | null = null;

  constructor(private readonly modelDir: string) {}

  async prime(): Promise<void> {
    await Promise.all([this.fixedFacts(), si.currentLoad()]);
  }

  private fixedFacts() {
    // systeminformation says "unknown" for what it could not read
    const known = (...values: (string | undefined)[]) => values.filter((v) => v && v !== 'unknown').join(' ');
    this.fixed ??= Promise.all([si.cpu(), si.osInfo()]).then(([cpu, os]) => ({
      hostname: os.hostname,
      os: known(os.distro, os.release) || os.platform,
      kernel: os.kernel,
      cpuModel: known(cpu.manufacturer, cpu.brand) || 'unknown CPU',
      cores: cpu.cores,
    }));
    return this.fixed;
  }

  async read(): Promise<HostFactsSnapshot> {
    const [fixed, load, mem, disks] = await Promise.all([this.fixedFacts(), si.currentLoad(), si.mem(), si.fsSize()]);
    return {
      hostname: fixed.hostname,
      os: fixed.os,
      kernel: fixed.kernel,
      cpu: { model: fixed.cpuModel, cores: fixed.cores, loadPct: round1(load.currentLoad) },
      memory: { totalMiB: Math.round(mem.total / MiB), usedMiB: Math.round((mem.total - mem.available) / MiB) },
      disk: diskOf(this.modelDir, disks),
      uptimeS: Math.round(si.time().uptime),
    };
  }
}

/** The filesystem holding `path` (or its nearest existing parent): the longest matching mount point. */
function diskOf(path: string, disks: si.Systeminformation.FsSizeData[]): HostFactsSnapshot['disk'] {
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // keep the path as written
  }
  const match = disks
    .filter((d) => d.mount && (real === d.mount || real.startsWith(d.mount.endsWith('/') ? d.mount : `${d.mount}/`)))
    .sort((a, b) => b.mount.length - a.mount.length)[0];
  if (!match) return null;
  return { path, mount: match.mount, totalGiB: round1(match.size / GiB), usedGiB: round1(match.used / GiB) };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
