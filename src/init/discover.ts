import { homedir, hostname, userInfo } from 'node:os';
import { engineEnv } from '../engines/environment.js';
import { localAddresses, whereServed } from './address.js';
import { analyzeCommand, DEFAULT_PORTS, type ServerCommand } from './command-line.js';
import { readGpus, vramOfProcess, type GpusFound } from './gpus.js';
import { findConfig, readLiteLLM, resolveFrom, usualConfigPlaces, type ConfigCandidate, type LiteLLMFound } from './litellm.js';
import { readOllama, type OllamaFound } from './ollama.js';
import { readStartScript } from './scripts.js';
import { readUserUnits, type UnitsFound, type UserUnit } from './units.js';

export interface AnalyzedUnit {
  unit: UserUnit;
  command: ServerCommand;
  /** the start script the unit runs, when its command line is a script's */
  script?: string;
  /** a unit of the lab (not one a package installed under /usr/lib) */
  own: boolean;
  /** VRAM its processes hold now */
  vramMiB?: number;
}

export interface OllamaServer extends OllamaFound {
  port: number;
  /** named by LiteLLM or by a unit (an unreachable default one is not worth a word) */
  referenced: boolean;
}

export interface Discovery {
  hostName: string;
  user: string;
  home: string;
  units: UnitsFound;
  analyzed: AnalyzedUnit[];
  litellm: LiteLLMFound;
  ollama: OllamaServer[];
  gpus: GpusFound;
  local: Set<string>;
}

export interface DiscoverOptions {
  hostName: string;
  /** `--litellm-config` */
  litellmConfig?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal?: AbortSignal;
}

/** Everything `labops init` reads of this host. Reads only: it starts and stops nothing. */
export async function discover(opts: DiscoverOptions): Promise<Discovery> {
  const { env, signal } = opts;
  const home = env.HOME || homedir();
  const local = localAddresses();
  const [units, gpus] = await Promise.all([readUserUnits({ env: engineEnv(env), signal }), readGpus('nvidia-smi', signal)]);
  const analyzed = units.available ? await Promise.all(units.units.map((u) => analyzeUnit(u, home))) : [];
  for (const a of analyzed) {
    if (a.unit.mainPid > 0 && a.unit.activeState === 'active') {
      const vram = await vramOfProcess(a.unit.mainPid, gpus.apps);
      if (vram !== undefined) a.vramMiB = vram;
    }
  }

  const candidates: ConfigCandidate[] = [];
  if (opts.litellmConfig) candidates.push({ path: resolveFrom(opts.cwd, opts.litellmConfig), foundBy: '--litellm-config' });
  else {
    for (const a of analyzed.filter((x) => x.command.kind === 'litellm' && x.command.configPath)) {
      candidates.push({ path: resolveFrom(a.unit.workingDirectory || home, a.command.configPath!), foundBy: `${a.unit.id}: --config` });
    }
    candidates.push(...usualConfigPlaces(home).map((path) => ({ path, foundBy: 'a usual place' })));
  }
  const { found, looked } = await findConfig(candidates);
  const litellm = await readLiteLLM(found, looked, env, signal);
  const ollama = await readOllamaServers(litellm, analyzed, local, signal);
  return { hostName: opts.hostName, user: currentUser(env), home, units, analyzed, litellm, ollama, gpus, local };
}

async function analyzeUnit(unit: UserUnit, home: string): Promise<AnalyzedUnit> {
  const own = unit.fragmentPath !== '' && !/^\/(usr\/)?(lib|share)\//.test(unit.fragmentPath);
  const command = analyzeCommand(unit.argv, unit.environment);
  const result: AnalyzedUnit = { unit, command, own };
  if (command.kind !== 'unknown') return result;
  // `ExecStart=/bin/bash /home/lab/llm/bin/start_embed.sh`: what the script runs
  for (const file of [...command.files, ...unit.argv.slice(1).filter((w) => /\.(sh|bash)$/.test(w) && !w.includes('/'))].slice(0, 4)) {
    const script = await readStartScript(file, unit.workingDirectory || home, unit.environment);
    if (script && (script.command.kind !== 'unknown' || script.command.portGiven)) return { ...result, command: script.command, script: script.path };
  }
  return result;
}

/** Every Ollama server LiteLLM or a unit names, and the default one; each asked once. */
async function readOllamaServers(litellm: LiteLLMFound, analyzed: readonly AnalyzedUnit[], local: ReadonlySet<string>, signal?: AbortSignal): Promise<OllamaServer[]> {
  const urls = new Map<number, { url: string; referenced: boolean }>();
  const add = (url: string, port: number, referenced: boolean) => {
    const known = urls.get(port);
    if (!known) urls.set(port, { url, referenced });
    else known.referenced ||= referenced;
  };
  for (const d of litellm.deployments) {
    if (!d.provider?.startsWith('ollama')) continue;
    const where = whereServed(d.apiBase ?? `http://127.0.0.1:${DEFAULT_PORTS.ollama}`, local);
    if (where.at === 'local') add(where.base, where.port, true);
  }
  for (const a of analyzed) if (a.command.kind === 'ollama') for (const port of a.command.ports) add(`http://127.0.0.1:${port}`, port, true);
  add(`http://127.0.0.1:${DEFAULT_PORTS.ollama}`, DEFAULT_PORTS.ollama!, false);
  const servers = await Promise.all([...urls].map(async ([port, { url, referenced }]) => ({ ...(await readOllama(url, signal)), port, referenced })));
  return servers.filter((s) => s.reachable || s.referenced);
}

function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER || env.LOGNAME || 'me';
  }
}

export function defaultHostName(): string {
  const name = hostname().toLowerCase().split('.')[0] ?? '';
  const cleaned = name.replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
  return cleaned.slice(0, 64) || 'gpu-1';
}
