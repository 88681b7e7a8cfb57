import { Document, isCollection, isMap, isScalar, type Node, type Pair, type YAMLMap } from 'yaml';
import type { Plan, PlannedGroup, PlannedModel } from './plan.js';

/**
 * The labops.yaml of a plan, written with the `yaml` Document API so that what init could not
 * decide are real comments beside their entries, and short maps (engine, health) stay on one line.
 */
export function planToYaml(plan: Plan, opts: { now?: Date; command?: string } = {}): string {
  const when = (opts.now ?? new Date()).toISOString().slice(0, 16).replace('T', ' ');
  const doc = new Document({
    discord: { token: 'env:DISCORD_TOKEN' },
    roles: { viewer: [], operator: [], admin: [] },
    local: { defaultRole: 'none', users: { [plan.user]: 'admin' } },
    redis: { url: 'redis://127.0.0.1:6379', prefix: 'labops' },
    database: { url: 'postgres://postgres@127.0.0.1:5432/labops', schema: 'labops' },
    ...(plan.litellm ? { litellm: litellmSection(plan) } : {}),
    hosts: {
      [plan.hostName]: {
        ...(plan.hostDescription ? { description: plan.hostDescription } : {}),
        ...(plan.modelDir ? { modelDir: plan.modelDir } : {}),
        models: Object.fromEntries(plan.models.map((m) => [m.name, modelEntry(m)])),
      },
    },
  });

  doc.commentBefore = comment([
    ` labops configuration of ${plan.hostName}, written by \`${opts.command ?? 'labops init'}\` on ${when} UTC.`,
    ' Read it through: each comment beside an entry is something init could not decide or wants you to know.',
    ' Check it with `labops config check <file>`; every key is described in the README.',
    ' Secrets are never written here: env:NAME reads the value from the environment variable NAME.',
  ]);

  const root = doc.contents as YAMLMap;
  keyComment(root, 'discord', [' Discord: set DISCORD_TOKEN and the ids (applicationId, guildId, alertChannelId, logChannelId) — see the README.'], false);
  inlineComment(doc, ['discord', 'token'], ' unset: labops opens the local shell instead of Discord');
  keyComment(root, 'roles', [' Discord role ids per capability (viewer < operator < admin).']);
  keyComment(root, 'local', [' The shell and exec on this machine: the role of each local user.']);
  inlineComment(doc, ['local', 'defaultRole'], ' what another local user of the shell and exec may do');
  inlineComment(doc, ['local', 'users', plan.user], ' you ran labops init');
  keyComment(root, 'redis', []);
  keyComment(root, 'database', []);

  if (plan.litellm) {
    keyComment(root, 'litellm', [' The LiteLLM proxy in front of the models; groups are its model groups and their fallbacks.', ...plan.litellmNotes.map((n) => ` ${n}`)]);
    if (plan.litellm.urlNote) inlineComment(doc, ['litellm', 'url'], ` ${plan.litellm.urlNote}`);
    if (plan.litellm.masterKeyNote) inlineComment(doc, ['litellm', 'masterKey'], ` ${plan.litellm.masterKeyNote}`);
    inlineComment(doc, ['litellm', 'saltKey'], ' LiteLLM reads it from LITELLM_SALT_KEY only; labops needs it to read what LiteLLM stores encrypted');
    if (plan.litellm.databaseUrlNote) inlineComment(doc, ['litellm', 'databaseUrl'], ` ${plan.litellm.databaseUrlNote}`);
    const groups = doc.getIn(['litellm', 'groups'], true);
    if (isMap(groups)) {
      for (const g of plan.litellm.groups) {
        flow(doc.getIn(['litellm', 'groups', g.name, 'fallbacks'], true));
        if (g.note) keyComment(groups, g.name, [` ${g.note}`], false);
      }
    }
  }
  keyComment(root, 'hosts', [
    ...(plan.litellm ? [] : plan.litellmNotes.map((n) => ` ${n}`)),
    ' This GPU host and the models found on it: [type]-[name]-[engine] names, their old LiteLLM names as aliases.',
  ]);

  const models = doc.getIn(['hosts', plan.hostName, 'models'], true);
  const hostKey = pairOf(doc.getIn(['hosts'], true) as YAMLMap, plan.hostName);
  if (hostKey) setKeyComment(doc, hostKey, [], false);
  if (isMap(models)) {
    const modelsPair = pairOf(doc.getIn(['hosts', plan.hostName], true) as YAMLMap, 'models');
    if (modelsPair && plan.hostNotes.length > 0) setKeyComment(doc, modelsPair, plan.hostNotes.map((n) => ` ${n}`), false);
    plan.models.forEach((m, i) => {
      const pair = pairOf(models, m.name);
      if (pair) setKeyComment(doc, pair, m.notes.map((n) => ` ${n}`), i > 0);
      for (const key of ['engine', 'health', 'aliases']) flow(doc.getIn(['hosts', plan.hostName, 'models', m.name, key], true));
    });
  }
  return doc.toString({ lineWidth: 0 });
}

function litellmSection(plan: Plan): Record<string, unknown> {
  const l = plan.litellm!;
  return {
    url: l.url,
    masterKey: l.masterKey,
    saltKey: l.saltKey,
    ...(l.databaseUrl ? { databaseUrl: l.databaseUrl } : {}),
    ...(l.configPath ? { configPath: l.configPath } : {}),
    host: l.host,
    groups: Object.fromEntries(l.groups.map((g) => [g.name, groupEntry(g)])),
  };
}

function groupEntry(g: PlannedGroup): Record<string, unknown> {
  return {
    ...(g.servedBy ? { servedBy: g.servedBy } : {}),
    ...(g.fallbacks.length > 0 ? { fallbacks: g.fallbacks } : {}),
    ...(g.cloud ? { cloud: true } : {}),
  };
}

function modelEntry(m: PlannedModel): Record<string, unknown> {
  return {
    ...(m.aliases.length > 0 ? { aliases: m.aliases } : {}),
    type: m.type,
    ...(m.description ? { description: m.description } : {}),
    engine: m.engine,
    ...(m.health ? { health: m.health } : {}),
    ...(m.vramMiB !== undefined ? { vramMiB: m.vramMiB } : {}),
    ...(m.idleTtl ? { idleTtl: m.idleTtl } : {}),
    ...(m.pinned ? { pinned: true } : {}),
    ...(m.litellmName ? { litellmName: m.litellmName } : {}),
  };
}

/** `{ kind: systemd, unit: x.service }` and `[a, b]` on one line. */
function flow(node: unknown): void {
  if (isCollection(node)) node.flow = true;
}

function pairOf(map: YAMLMap | undefined, key: string): Pair | undefined {
  if (!map || !isMap(map)) return undefined;
  return (map.items as Pair[]).find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
}

/** Comment lines above a key of `map` (and a blank line before it unless `space` is false). */
function keyComment(map: YAMLMap, key: string, lines: string[], space = true): void {
  const pair = pairOf(map, key);
  if (pair) setKeyComment(undefined, pair, lines, space);
}

function setKeyComment(doc: Document | undefined, pair: Pair, lines: string[], space: boolean): void {
  const key = (isScalar(pair.key) ? pair.key : (doc ?? new Document()).createNode(pair.key)) as Node & { commentBefore?: string | null; spaceBefore?: boolean };
  pair.key = key;
  if (lines.length > 0) key.commentBefore = comment(lines);
  if (space) key.spaceBefore = true;
}

function inlineComment(doc: Document, path: string[], text: string): void {
  const node = doc.getIn(path, true);
  if (isScalar(node)) node.comment = oneLine(text);
}

/** Comment text: one line each, no control characters (a unit name or path cannot end the comment). */
function comment(lines: string[]): string {
  return lines.map(oneLine).join('\n');
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}
