import { usageError } from '../core/errors.js';
import type { Config, HostConfig, ModelConfig } from './schema.js';

export interface ModelRef {
  host: string;
  name: string;
  model: ModelConfig;
}

/**
 * The lab as the config describes it: hosts and their models. Every name that reaches a queue,
 * a unit or a process comes out of here, never straight from chat.
 */
export class Inventory {
  readonly hostNames: readonly string[];
  private readonly all: readonly ModelRef[];

  constructor(private readonly config: Config) {
    this.hostNames = Object.keys(config.hosts);
    this.all = Object.entries(config.hosts).flatMap(([host, h]) =>
      Object.entries(h.models).map(([name, model]) => ({ host, name, model })),
    );
  }

  /** The inventory's name of a host, whatever its case (host names, like model names, are not case-sensitive); unknown: a usage error listing the hosts. */
  hostName(name: string): string {
    const canonical = name.trim().toLowerCase();
    if (this.config.hosts[canonical]) return canonical;
    throw usageError(`Unknown host "${name}".`, `Hosts: ${closest(canonical, this.hostNames).join(', ')}`);
  }

  /** The host's config; an unknown name is a usage error that lists the hosts. */
  host(name: string): HostConfig {
    return this.config.hosts[this.hostName(name)]!;
  }

  /** One host when named (validated), else all of them. */
  selectHosts(name?: string): string[] {
    if (name === undefined) return [...this.hostNames];
    return [this.hostName(name)];
  }

  models(host?: string): ModelRef[] {
    return host === undefined ? [...this.all] : this.all.filter((m) => m.host === host);
  }

  /** Exact name, alias, or unique prefix of either; unknown or ambiguous names list the candidates, closest first. */
  resolveModel(query: string, host?: string): ModelRef {
    const pool = host === undefined ? this.all : this.models(this.hostName(host));
    const q = query.trim().toLowerCase();
    const labels = (m: ModelRef) => [m.name, ...m.model.aliases];

    const exact = pool.filter((m) => labels(m).includes(q));
    const prefix = exact.length > 0 ? exact : pool.filter((m) => labels(m).some((l) => l.startsWith(q)));
    const matches = unique(prefix);

    if (matches.length === 1) return matches[0]!;
    const where = host === undefined ? '' : ` on ${host}`;
    if (matches.length > 1) {
      const sameName = new Set(matches.map((m) => m.name)).size === 1;
      throw usageError(
        sameName
          ? `"${query}" is on several hosts: ${matches.map((m) => m.host).join(', ')}.`
          : `"${query}" matches ${matches.length} models${where}.`,
        sameName
          ? `Say which with host:${matches[0]!.host}.`
          : `Candidates: ${rank(q, matches).map(display).join(', ')}`,
      );
    }
    const candidates = rank(q, pool).slice(0, 5);
    throw usageError(
      `Unknown model "${query}"${where}.`,
      candidates.length > 0 ? `Closest: ${candidates.map(display).join(', ')}. /models lists them all.` : 'This host has no models in labops.yaml.',
    );
  }

  /** Choices for autocomplete: names and aliases matching what was typed, best first. */
  complete(typed: string, host?: string, limit = 25): ModelRef[] {
    const q = typed.trim().toLowerCase();
    const pool = host && this.config.hosts[host] ? this.models(host) : this.all;
    if (!q) return pool.slice(0, limit);
    const hits = pool.filter((m) => [m.name, ...m.model.aliases].some((l) => l.includes(q)));
    return rank(q, hits).slice(0, limit);
  }
}

function unique(refs: readonly ModelRef[]): ModelRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const key = `${r.host}/${r.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function display(m: ModelRef): string {
  return m.model.aliases.length > 0 ? `${m.name} (${m.model.aliases.join(', ')})` : m.name;
}

function rank(query: string, refs: readonly ModelRef[]): ModelRef[] {
  const score = (m: ModelRef) => Math.min(...[m.name, ...m.model.aliases].map((l) => distance(query, l)));
  return unique(refs)
    .map((m) => ({ m, s: score(m) }))
    .sort((a, b) => a.s - b.s || a.m.name.localeCompare(b.m.name))
    .map((x) => x.m);
}

/** The names closest to `query` first. */
export function closest(query: string, names: readonly string[]): string[] {
  return [...names].sort((a, b) => distance(query, a) - distance(query, b) || a.localeCompare(b));
}

/**
 * Edit distance where swapping two neighbouring letters is one edit ("stauts" is one from
 * "status"), with a bonus for a shared prefix or containment so "hermes" ranks Hermes first.
 */
export function distance(a: string, b: string): number {
  if (b.startsWith(a)) return 0;
  if (b.includes(a)) return 1;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return 2 + d[a.length]![b.length]!;
}
