import type { APIApplicationCommandOptionChoice } from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import type { Caller, OptionDef } from '../command.js';
import { checkAccess } from '../dispatch.js';
import { clip } from './render.js';
import { alertChoices } from '../../bot/alerts/choices.js';

export const MAX_CHOICES = 25;

export type Choice = APIApplicationCommandOptionChoice<string>;

/**
 * Autocomplete choices for a focused option, from the inventory in memory: model and host names
 * (and, for jobs, the newest jobs of each host, given at most `jobsWithinMs`; for alerts, the keys
 * in the alert store). A caller who may not run the command gets no choices at all.
 */
export async function choicesFor(
  ctx: Pick<BotContext, 'config' | 'commands' | 'inventory' | 'jobs' | 'redis' | 'prefix'>,
  caller: Caller,
  commandName: string,
  focused: { name: string; value: string },
  options: Record<string, unknown>,
  jobsWithinMs = 1_000,
): Promise<Choice[]> {
  const command = ctx.commands.get(commandName);
  if (!command || checkAccess(ctx, command, caller)) return [];
  const def = (command.options as Record<string, OptionDef>)[focused.name];
  if (!def || def.type !== 'string' || !def.autocomplete) return [];
  const typed = focused.value.trim().toLowerCase();

  switch (def.autocomplete) {
    case 'host':
      return ctx.inventory.hostNames
        .filter((h) => h.includes(typed))
        .slice(0, MAX_CHOICES)
        .map((h) => ({ name: h, value: h }));
    case 'model': {
      const host = typeof options.host === 'string' && ctx.inventory.hostNames.includes(options.host) ? options.host : undefined;
      const severalHosts = ctx.inventory.hostNames.length > 1 && host === undefined;
      const seen = new Set<string>();
      const out: Choice[] = [];
      for (const ref of ctx.inventory.complete(typed, host, MAX_CHOICES * 2)) {
        if (seen.has(ref.name)) continue;
        seen.add(ref.name);
        const aliases = ref.model.aliases.length > 0 ? ` (${ref.model.aliases.join(', ')})` : '';
        out.push({ name: clip(`${ref.name}${aliases}${severalHosts ? ` · ${ref.host}` : ''}`, 100), value: ref.name });
        if (out.length === MAX_CHOICES) break;
      }
      return out;
    }
    case 'alert': {
      const found = await Promise.race([alertChoices(ctx, typed), new Promise<null>((resolve) => setTimeout(() => resolve(null), jobsWithinMs).unref())]).catch(() => null);
      return found ?? [];
    }
    case 'job': {
      const hosts = typeof options.host === 'string' && ctx.inventory.hostNames.includes(options.host) ? [options.host] : ctx.inventory.hostNames;
      const lists = await Promise.race([
        Promise.all(hosts.map((h) => ctx.jobs.list(h, MAX_CHOICES).catch(() => []))),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), jobsWithinMs).unref()),
      ]);
      return (lists ?? [])
        .flat()
        .filter((j) => j.id.toLowerCase().includes(typed) || j.kind.includes(typed))
        .slice(0, MAX_CHOICES)
        .map((j) => ({ name: clip(`${j.id} · ${j.kind} · ${j.host} · ${j.state}`, 100), value: clip(j.id, 100) }));
    }
  }
}
