import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { redact } from '../core/redact.js';
import { defaultHostName, discover } from './discover.js';
import { planConfig } from './plan.js';
import { foundTables } from './report.js';
import { planToYaml } from './write-yaml.js';

export interface InitOptions {
  /** where to write (default labops.yaml) */
  out?: string;
  dryRun: boolean;
  litellmConfig?: string;
  /** the host's name in the inventory (default: this machine's name) */
  host?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

const HOST_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * `labops init`: discovers this GPU host (LiteLLM's config.yaml and database, the systemd user
 * units, their start scripts, Ollama, the GPUs) and writes a commented labops.yaml. It never
 * overwrites a file. Exit codes: 0 written (or printed), 1 nothing found to write, 2 usage.
 */
export async function runInit(opts: InitOptions): Promise<number> {
  const out = opts.stdout ?? ((t: string) => process.stdout.write(`${t}\n`));
  const err = opts.stderr ?? ((t: string) => process.stderr.write(`${t}\n`));
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const hostName = opts.host ?? defaultHostName();
  if (!HOST_NAME.test(hostName)) {
    err(`labops init: --host ${JSON.stringify(hostName)} is not a host name labops takes: lower-case letters, digits, ".", "_" and "-" (at most 64).`);
    return 2;
  }
  const target = resolve(cwd, opts.out ?? 'labops.yaml');
  if (!opts.dryRun && existsSync(target)) return exists(target, err);

  const found = await discover({ hostName, ...(opts.litellmConfig ? { litellmConfig: opts.litellmConfig } : {}), env, cwd });
  if (opts.litellmConfig && !found.litellm.configPath) {
    err(`labops init: --litellm-config ${opts.litellmConfig}: file not found.`);
    return 2;
  }
  const plan = planConfig(found);
  const yaml = planToYaml(plan);
  const tables = redact(foundTables(plan));

  if (plan.models.length === 0 && !plan.litellm) {
    err(`labops init found nothing to write on this host:\n\n${tables}\n\nIs this the GPU host, and are you the user who owns the model units? Give LiteLLM's config with --litellm-config.`);
    return 1;
  }
  if (opts.dryRun) {
    out(yaml.trimEnd());
    out('');
    out(tables);
    out('');
    out(`(--dry-run: nothing was written; without it this goes to ${target})`);
    return 0;
  }
  try {
    await writeFile(target, yaml, { flag: 'wx', mode: 0o644 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return exists(target, err);
    err(`labops init: cannot write ${target}: ${code ?? (e as Error).message}`);
    return 1;
  }
  out(tables);
  out('');
  const notes = plan.litellmNotes.length + plan.hostNotes.length + plan.models.reduce((n, m) => n + m.notes.length, 0);
  out(`Wrote ${target}: ${plan.models.length} model${plan.models.length === 1 ? '' : 's'} on host ${hostName}${notes ? `, ${notes} comment${notes === 1 ? '' : 's'} to read` : ''}.`);
  out(`Next: labops config check ${opts.out ?? 'labops.yaml'}, export the env: variables it names, then \`labops\` (a shell here) or \`labops worker --host ${hostName}\`.`);
  return 0;
}

function exists(target: string, err: (text: string) => void): number {
  err(`labops init: ${target} already exists, and init never overwrites a file.\n→ Give another --out, move it away, or see what init would write with --dry-run.`);
  return 2;
}
