import type { FallbackRule, RoutingSettings } from '../config-file.js';
import { found, type Found } from './finding.js';

/** Routing settings and where they come from ("config.yaml router_settings", "LiteLLM_Config router_settings", …). */
export interface RoutingSource {
  where: string;
  settings: RoutingSettings;
}

/**
 * Fallbacks, context-window fallbacks and aliases that name a model group existing neither in
 * config.yaml nor in the DB: a fallback to nowhere fails exactly when it is needed (error); a rule
 * for a group that does not exist never applies (warning). `known`: every model_name of config.yaml
 * and the DB, and the aliases.
 */
export function checkFallbacks(sources: readonly RoutingSource[], known: ReadonlySet<string>): Found[] {
  const findings: Found[] = [];
  const missing = (name: string) => !known.has(name);
  const nowhere = `which is neither in config.yaml nor in the DB`;
  const rules = (where: string, kind: string, list: readonly FallbackRule[]) => {
    for (const rule of list) {
      const targets = rule.to.filter(missing);
      if (targets.length > 0) {
        findings.push(found('fallback-dangling', rule.from, 'error', `${where}.${kind}: ${rule.from} falls back to ${targets.join(', ')}, ${targets.length === 1 ? nowhere : nowhere.replace('which is', 'which are')}.`));
      }
      if (missing(rule.from)) {
        findings.push(found('fallback-dangling', rule.from, 'warning', `${where}.${kind} has a rule for ${rule.from}, ${nowhere}: it never applies.`));
      }
    }
  };
  for (const { where, settings } of sources) {
    rules(where, 'fallbacks', settings.fallbacks);
    rules(where, 'context_window_fallbacks', settings.contextWindowFallbacks);
    for (const [alias, group] of Object.entries(settings.modelGroupAlias)) {
      if (missing(group)) findings.push(found('fallback-dangling', alias, 'error', `${where}.model_group_alias: ${alias} points at ${group}, ${nowhere}.`));
    }
  }
  return dedupe(findings);
}

/** The same rule in router_settings and litellm_settings (or the DB) is one finding per place; identical messages once. */
function dedupe(findings: Found[]): Found[] {
  const seen = new Set<string>();
  return findings.filter((f) => (seen.has(f.message) ? false : (seen.add(f.message), true)));
}
