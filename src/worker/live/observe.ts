import type { ModelRef } from '../../config/inventory.js';
import { errorMessage } from '../../core/errors.js';
import type { Engine, EngineState } from '../../engines/engine.js';
import type { OllamaEngine} from '../../engines/ollama.js';
import { readPs, type PsAnswer } from '../../engines/ollama.js';
import { ScriptEngine } from '../../engines/script.js';
import { engineEnv } from '../../engines/environment.js';
import { unitStates } from '../../engines/systemd.js';
import type { ProcessList } from '../../host/proc.js';

export interface ObserveOptions {
  engineFor(ref: ModelRef): Engine;
  /** one /proc scan shared by every script and systemd model of the pass (read only if one runs) */
  procs: ProcessList;
  signal?: AbortSignal;
}

/**
 * Every model's state in one pass, as cheaply as each engine allows: ONE `systemctl --user show` for
 * all systemd units, ONE `/api/ps` per Ollama server, script models from the shared process list,
 * the rest (docker) one engine call each. Only reads: it never starts, loads or wakes a model.
 */
export async function observeModels(refs: readonly ModelRef[], opts: ObserveOptions): Promise<Map<string, EngineState>> {
  const out = new Map<string, EngineState>();
  const units = new Map<string, string[]>();
  const ollamas = new Map<string, { ref: ModelRef; engine: OllamaEngine }[]>();
  const others: ModelRef[] = [];
  for (const ref of refs) {
    const engine = ref.model.engine;
    if (engine.kind === 'systemd') units.set(engine.unit, [...(units.get(engine.unit) ?? []), ref.name]);
    else if (engine.kind === 'ollama') {
      const e = opts.engineFor(ref) as OllamaEngine;
      ollamas.set(e.url, [...(ollamas.get(e.url) ?? []), { ref, engine: e }]);
    } else others.push(ref);
  }
  const guard = async (names: string[], read: () => Promise<void>) => {
    try {
      await read();
    } catch (err) {
      for (const name of names) out.set(name, { state: 'unknown', pids: [], detail: errorMessage(err) });
    }
  };
  await Promise.all([
    guard([...units.values()].flat(), async () => {
      const states = await unitStates([...units.keys()], { signal: opts.signal, procs: opts.procs, env: engineEnv() });
      for (const [unit, names] of units) for (const name of names) out.set(name, states.get(unit)!);
    }),
    ...[...ollamas].map(([url, models]) =>
      guard(
        models.map((m) => m.ref.name),
        async () => {
          const ps: PsAnswer = await readPs(url, opts.signal);
          for (const m of models) out.set(m.ref.name, m.engine.stateFrom(ps));
        },
      ),
    ),
    ...others.map((ref) =>
      guard([ref.name], async () => {
        const engine = opts.engineFor(ref);
        out.set(ref.name, engine instanceof ScriptEngine ? await engine.state(opts.signal, opts.procs) : await engine.state(opts.signal));
      }),
    ),
  ]);
  return out;
}
