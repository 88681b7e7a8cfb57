import { basename, dirname } from 'node:path';
import type { FallbackRule } from '../litellm/config-file.js';
import { probeHost, whereServed, type Where } from './address.js';
import { DEFAULT_PORTS, SERVER_NAMES, type ServerKind } from './command-line.js';
import type { AnalyzedUnit, Discovery, OllamaServer } from './discover.js';
import { describeGpus } from './gpus.js';
import type { Deployment } from './litellm.js';
import { coreName, conventionalName, followsConvention, modelType, unique, VALID_NAME, type ModelType } from './naming.js';
import { findOllamaModel } from './ollama.js';

/** One model of the inventory `init` writes, with what it could not decide as notes beside it. */
export interface PlannedModel {
  name: string;
  type: ModelType;
  description?: string;
  aliases: string[];
  litellmName?: string;
  engine: Record<string, string>;
  health?: Record<string, string>;
  vramMiB?: number;
  idleTtl?: string;
  pinned?: boolean;
  /** comments written beside the entry */
  notes: string[];
  /** for the table of what was found where */
  found: { engine: string; port?: number; litellm: string[]; vram: string; typeFrom: string };
}

export interface PlannedGroup {
  name: string;
  servedBy?: string;
  fallbacks: string[];
  cloud: boolean;
  note?: string;
}

export interface PlannedLiteLLM {
  url: string;
  urlNote?: string;
  masterKey: string;
  masterKeyNote?: string;
  saltKey: string;
  databaseUrl?: string;
  databaseUrlNote?: string;
  configPath?: string;
  host: string;
  groups: PlannedGroup[];
}

export interface Plan {
  hostName: string;
  user: string;
  litellm?: PlannedLiteLLM;
  /** comments above `litellm:` */
  litellmNotes: string[];
  hostDescription?: string;
  /** comments above the host's models */
  hostNotes: string[];
  modelDir?: string;
  models: PlannedModel[];
  /** the sources read: what, where, what it gave */
  sources: { what: string; where: string; found: string }[];
  units: { unit: string; state: string; serves: string }[];
}

const LOCAL_IDLE_TTL = '30m';

interface Target {
  port: number;
  /** scheme://host:port LiteLLM reaches it at */
  base: string;
  deployments: Deployment[];
  /** an Ollama model: its tag */
  ollamaTag?: string;
  ollama?: OllamaServer;
}

/** Turns what was found into the inventory: models, their names, engines, health probes and notes. */
export function planConfig(d: Discovery): Plan {
  const names = new Set<string>();
  const usedUnits = new Map<string, string>();
  const models: PlannedModel[] = [];
  const hostNotes: string[] = [];
  const litellmNotes: string[] = [];

  const ollamaByPort = new Map(d.ollama.map((o) => [o.port, o]));
  const unitsByPort = new Map<number, AnalyzedUnit[]>();
  for (const a of d.analyzed) {
    if (a.command.kind === 'litellm') continue;
    for (const port of a.command.ports) unitsByPort.set(port, [...(unitsByPort.get(port) ?? []), a]);
  }

  // --- the proxy itself
  const proxies = d.analyzed.filter((a) => a.command.kind === 'litellm');
  const proxy = proxies.find((a) => a.unit.id === 'litellm.service') ?? proxies[0];
  const proxyPort = proxy?.command.ports[0] ?? DEFAULT_PORTS.litellm!;
  if (proxy) {
    const name = unique(VALID_NAME.test(proxy.unit.id.replace(/\.service$/, '')) ? proxy.unit.id.replace(/\.service$/, '') : 'litellm', names);
    names.add(name);
    usedUnits.set(proxy.unit.id, name);
    models.push({
      name,
      type: 'proxy',
      description: 'the LiteLLM proxy itself',
      aliases: [],
      engine: { kind: 'systemd', unit: proxy.unit.id },
      health: { url: `http://127.0.0.1:${proxyPort}/health/liveliness` },
      pinned: true,
      notes: proxies.length > 1 ? [`other LiteLLM units: ${proxies.filter((p) => p !== proxy).map((p) => p.unit.id).join(', ')}`] : [],
      found: { engine: `systemd ${proxy.unit.id}`, port: proxyPort, litellm: [], vram: vramText(proxy), typeFrom: 'it runs litellm' },
    });
  }

  // --- LiteLLM's deployments, by where they are served
  const targets = new Map<string, Target>();
  const elsewhere = new Map<string, { where: Where; deployments: Deployment[] }>();
  for (const dep of d.litellm.deployments) {
    const where = dep.provider?.startsWith('ollama') && !dep.apiBase ? whereServed(`http://127.0.0.1:${DEFAULT_PORTS.ollama}`, d.local) : whereServed(dep.apiBase, d.local, dep.provider);
    if (where.at !== 'local') {
      const entry = elsewhere.get(dep.modelName) ?? { where, deployments: [] };
      entry.deployments.push(dep);
      elsewhere.set(dep.modelName, entry);
      continue;
    }
    const ollama = ollamaByPort.get(where.port);
    const onOllama = ollama !== undefined || dep.provider?.startsWith('ollama') === true || unitsByPort.get(where.port)?.some((u) => u.command.kind === 'ollama');
    const tag = onOllama ? stripProvider(dep.model) : undefined;
    const key = onOllama ? `ollama:${where.port}:${normaliseTag(tag ?? '?')}` : `port:${where.port}`;
    const target = targets.get(key) ?? { port: where.port, base: where.base, deployments: [], ...(onOllama ? { ollamaTag: tag ?? '?', ...(ollama ? { ollama } : {}) } : {}) };
    target.deployments.push(dep);
    targets.set(key, target);
  }

  const fallbacks = fallbackRules(d);
  const fallbackSources = new Set(fallbacks.map((r) => r.from));
  const servedBy = new Map<string, string>();

  for (const target of targets.values()) {
    const model = target.ollamaTag !== undefined ? ollamaModel(target, d, names) : serverModel(target, d, unitsByPort, usedUnits, names);
    for (const n of model.found.litellm) servedBy.set(n, model.name);
    models.push(model);
  }

  // --- model servers LiteLLM does not name
  for (const a of d.analyzed) {
    if (usedUnits.has(a.unit.id) || a.command.kind === 'unknown' || a.command.kind === 'ollama' || a.command.kind === 'litellm') continue;
    const model = unitOnlyModel(a, names);
    usedUnits.set(a.unit.id, model.name);
    models.push(model);
  }
  // --- Ollama models LiteLLM does not name
  for (const server of d.ollama) {
    for (const installed of server.installed) {
      const listed = [...targets.values()].some((t) => t.ollama === server && t.ollamaTag !== undefined && sameTag(t.ollamaTag, installed.name));
      if (listed) continue;
      models.push(ollamaModel({ port: server.port, base: server.url, deployments: [], ollamaTag: installed.name, ollama: server }, d, names));
    }
  }
  for (const a of d.analyzed) {
    if (a.command.kind !== 'ollama' || usedUnits.has(a.unit.id)) continue;
    usedUnits.set(a.unit.id, `the Ollama server on port ${a.command.ports.join(', ')}`);
  }

  // --- aliases: the model's other LiteLLM names and LiteLLM's aliases of them, where they are names labops takes
  const aliasTaken = new Set(models.map((m) => m.name));
  const groupAliases = d.litellm.file ? { ...d.litellm.file.litellmSettings.modelGroupAlias, ...d.litellm.file.routerSettings.modelGroupAlias } : {};
  for (const model of models) {
    const candidates = [...model.found.litellm, ...Object.entries(groupAliases).filter(([, group]) => model.found.litellm.includes(group)).map(([alias]) => alias)];
    for (const alias of candidates) {
      if (alias === model.name || aliasTaken.has(alias)) continue;
      if (!VALID_NAME.test(alias)) continue;
      aliasTaken.add(alias);
      model.aliases.push(alias);
    }
    if (!model.found.litellm.includes(model.name) && model.found.litellm.length > 0) {
      model.litellmName = model.found.litellm.find((n) => !fallbackSources.has(n)) ?? model.found.litellm[0];
    }
  }

  // --- units that serve nothing found here
  const stray = d.analyzed.filter((a) => a.own && !usedUnits.has(a.unit.id));
  if (stray.length > 0) {
    hostNotes.push(`user units not matched to a model: ${stray.map((a) => `${a.unit.id}${a.command.ports.length ? ` (port ${a.command.ports.join(', ')})` : ''}`).join(', ')}`);
  }

  // --- LiteLLM
  const litellm = planLiteLLM(d, proxy, proxyPort, fallbacks, servedBy, elsewhere, litellmNotes);
  const gpus = d.gpus.snapshot;
  return {
    hostName: d.hostName,
    user: d.user,
    ...(litellm ? { litellm } : {}),
    litellmNotes,
    hostDescription: gpus.available ? `GPU host: ${describeGpus(gpus)}` : `this host (nvidia-smi: ${describeGpus(gpus)})`,
    hostNotes,
    ...optionalString('modelDir', modelDirOf(d)),
    models,
    sources: sources(d),
    units: d.analyzed
      .filter((a) => a.own || usedUnits.has(a.unit.id))
      .map((a) => ({ unit: a.unit.id, state: `${a.unit.activeState}, ${a.unit.unitFileState || '?'}`, serves: usedUnits.get(a.unit.id) ?? '–' })),
  };
}

/** A model behind a port: the unit that listens there, else a start script still to be written. */
function serverModel(target: Target, d: Discovery, unitsByPort: Map<number, AnalyzedUnit[]>, usedUnits: Map<string, string>, names: Set<string>): PlannedModel {
  const notes: string[] = [];
  const candidates = unitsByPort.get(target.port) ?? [];
  const unit = pickUnit(candidates);
  if (candidates.length > 1) notes.push(`units ${candidates.map((c) => c.unit.id).join(' and ')} all serve port ${target.port}: ${unit!.unit.id} is used (${unit!.unit.activeState}); stop the duplicate`);
  const kind: ServerKind = unit?.command.kind ?? 'unknown';
  const litellmNames = [...new Set(target.deployments.map((dep) => dep.modelName))];
  const raw = unit?.command.model ?? stripProvider(target.deployments.find((dep) => dep.model)?.model) ?? unit?.command.servedName ?? litellmNames[0] ?? `port-${target.port}`;
  const evidence = {
    modes: target.deployments.map((dep) => dep.mode ?? ''),
    vision: target.deployments.some((dep) => dep.supportsVision),
    names: [...litellmNames, ...target.deployments.map((dep) => dep.model ?? ''), unit?.command.model ?? '', unit?.command.servedName ?? ''],
    kind,
  };
  const { type, from } = modelType(evidence);
  const core = coreName(raw, type);
  const existing = litellmNames.find((n) => followsConvention(n, type, core) && !names.has(n));
  const name = existing ?? unique(conventionalName(type, core, kind), names);
  names.add(name);
  for (const dep of target.deployments) for (const problem of dep.problems) notes.push(`${dep.modelName} (LiteLLM database): ${problem}`);

  let engine: Record<string, string>;
  if (unit) {
    usedUnits.set(unit.unit.id, name);
    engine = { kind: 'systemd', unit: unit.unit.id };
  } else {
    notes.push(`could not match a unit to port ${target.port}: say how it starts (engine kind systemd with its unit, or script with its start script and pid file)`);
    engine = { kind: 'script', cwd: d.home, start: `bin/start-${name}.sh`, pidFile: `run/${name}.pid` };
  }
  const health = healthFor(kind, target.base, target.port, unit?.command.servedName ?? unit?.command.model ?? stripProvider(target.deployments.find((dep) => dep.model)?.model));
  const vram = unit ? vramFor(unit) : {};
  if (vram.note) notes.push(vram.note);
  const serverName = SERVER_NAMES[kind];
  return {
    name,
    type,
    ...(unit?.command.model ? { description: `${basename(unit.command.model)} on ${serverName}${unit.script ? `, started by ${tilde(unit.script, d.home)}` : ''}` } : {}),
    aliases: [],
    engine,
    ...(health ? { health } : {}),
    ...(vram.miB !== undefined ? { vramMiB: vram.miB } : {}),
    ...(type === 'chat' ? { idleTtl: LOCAL_IDLE_TTL } : {}),
    notes,
    found: { engine: unit ? `systemd ${unit.unit.id}${unit.script ? ` → ${basename(unit.script)}` : ''}` : 'none found', port: target.port, litellm: litellmNames, vram: unit ? vramText(unit) : '–', typeFrom: from },
  };
}

/** A model server unit LiteLLM does not route to: labops can still start, stop and watch it. */
function unitOnlyModel(a: AnalyzedUnit, names: Set<string>): PlannedModel {
  const kind = a.command.kind;
  const raw = a.command.model ?? a.command.servedName ?? a.unit.id.replace(/\.service$/, '');
  const { type, from } = modelType({ modes: [], vision: false, names: [raw, a.command.servedName ?? '', a.unit.id], kind });
  const name = unique(conventionalName(type, coreName(raw, type), kind), names);
  names.add(name);
  const port = a.command.ports[0];
  const health = port ? healthFor(kind, `http://127.0.0.1:${port}`, port, a.command.servedName ?? a.command.model) : undefined;
  const vram = vramFor(a);
  return {
    name,
    type,
    ...(a.command.model ? { description: `${basename(a.command.model)} on ${SERVER_NAMES[kind]}` } : {}),
    aliases: [],
    engine: { kind: 'systemd', unit: a.unit.id },
    ...(health ? { health } : {}),
    ...(vram.miB !== undefined ? { vramMiB: vram.miB } : {}),
    ...(type === 'chat' ? { idleTtl: LOCAL_IDLE_TTL } : {}),
    notes: ['not in LiteLLM’s model list', ...(port ? [] : ['no port found on its command line: no health probe']), ...(vram.note ? [vram.note] : [])],
    found: { engine: `systemd ${a.unit.id}`, ...(port ? { port } : {}), litellm: [], vram: vramText(a), typeFrom: from },
  };
}

function ollamaModel(target: Target, d: Discovery, names: Set<string>): PlannedModel {
  const tag = target.ollamaTag ?? '?';
  const litellmNames = [...new Set(target.deployments.map((dep) => dep.modelName))];
  const { type, from } = modelType({
    modes: target.deployments.map((dep) => dep.mode ?? ''),
    vision: target.deployments.some((dep) => dep.supportsVision),
    names: [...litellmNames, tag],
    kind: 'ollama',
  });
  const core = coreName(tag, type);
  const existing = litellmNames.find((n) => followsConvention(n, type, core) && !names.has(n));
  const name = existing ?? unique(conventionalName(type, core, 'ollama'), names);
  names.add(name);
  const notes: string[] = [];
  for (const dep of target.deployments) for (const problem of dep.problems) notes.push(`${dep.modelName} (LiteLLM database): ${problem}`);
  const server = target.ollama;
  let vramMiB: number | undefined;
  let vram = '–';
  if (!server || !server.reachable) notes.push(`Ollama at ${target.base} did not answer${server?.detail ? ` (${server.detail})` : ''}: whether ${tag} is pulled is not known`);
  else {
    const loaded = findOllamaModel(server.loaded, tag);
    const installed = findOllamaModel(server.installed, tag);
    if (loaded?.vramMiB !== undefined) {
      vramMiB = loaded.vramMiB;
      vram = `${loaded.vramMiB} MiB (loaded)`;
    } else if (installed) {
      vramMiB = installed.sizeMiB;
      vram = `~${installed.sizeMiB} MiB (size on disk)`;
      notes.push('not loaded now: vramMiB is its size on disk, measured after its first /start');
    } else notes.push(`${tag} is not pulled in Ollama at ${target.base} (ollama pull ${tag})`);
    if (target.deployments.length === 0) notes.push('in Ollama, not in LiteLLM’s model list');
  }
  return {
    name,
    type,
    aliases: [],
    engine: { kind: 'ollama', url: target.base, model: tag, keepAlive: '5m' },
    ...(vramMiB !== undefined ? { vramMiB } : {}),
    notes,
    found: { engine: `ollama ${tag}`, port: target.port, litellm: litellmNames, vram, typeFrom: from },
  };
}

function planLiteLLM(
  d: Discovery,
  proxy: AnalyzedUnit | undefined,
  proxyPort: number,
  fallbacks: FallbackRule[],
  servedBy: Map<string, string>,
  elsewhere: Map<string, { where: Where; deployments: Deployment[] }>,
  notes: string[],
): PlannedLiteLLM | undefined {
  const found = d.litellm;
  if (!found.file && !proxy) {
    notes.push(
      found.error
        ? `LiteLLM: ${found.error}`
        : `no LiteLLM found: no litellm unit, and no config.yaml in ${found.looked.join(', ') || 'the usual places'}; give it with --litellm-config`,
    );
    return undefined;
  }
  if (found.error) notes.push(`LiteLLM: ${found.error}`);
  else if (!found.file) notes.push(`LiteLLM's config.yaml was not found (looked in ${found.looked.join(', ')}); give it with --litellm-config`);
  const file = found.file;
  if (file?.storeModelInDb && found.db.state !== 'read') {
    notes.push(`LiteLLM keeps models in its database too, but they were not read (${found.db.detail}): run init again with ${found.databaseUrlEnv} and LITELLM_SALT_KEY set to add them`);
  }
  const unplaced = [...elsewhere].filter(([, e]) => e.where.at === 'unknown').map(([name]) => name);
  if (unplaced.length > 0) notes.push(`where these LiteLLM models are served could not be read, so they are not in the inventory: ${unplaced.join(', ')}`);

  const master = file?.masterKey ?? { source: 'unset' as const };
  const masterKey = master.source === 'env' ? `env:${master.name}` : 'env:LITELLM_MASTER_KEY';
  const masterKeyNote =
    master.source === 'literal'
      ? 'config.yaml holds the master key itself: export LITELLM_MASTER_KEY=<that key> where labops runs (and better, give LiteLLM os.environ/LITELLM_MASTER_KEY too)'
      : undefined;
  const storeInDb = file?.storeModelInDb === true;
  const dbSource = file?.databaseUrl ?? { source: 'unset' as const };
  const databaseUrl = storeInDb || dbSource.source !== 'unset' ? `env:${found.databaseUrlEnv ?? 'DATABASE_URL'}` : undefined;
  const databaseUrlNote =
    dbSource.source === 'literal' ? `config.yaml holds the database URL itself: export ${found.databaseUrlEnv}=<that URL> where labops runs` : undefined;

  // groups: every group with fallbacks, every fallback target, every cloud group
  const groups = new Map<string, PlannedGroup>();
  const group = (name: string): PlannedGroup => {
    const existing = groups.get(name);
    if (existing) return existing;
    const created: PlannedGroup = { name, fallbacks: [], cloud: false };
    const local = servedBy.get(name);
    const other = elsewhere.get(name);
    if (local) created.servedBy = local;
    else if (other?.where.at === 'cloud') created.cloud = true;
    else if (other?.where.at === 'lan') created.note = `served by another host (${other.where.host}): run labops init there`;
    else if (other?.where.at === 'unknown') created.note = 'where it is served could not be read';
    else if (!local) created.note = 'LiteLLM has no model of this name';
    groups.set(name, created);
    return created;
  };
  for (const rule of fallbacks) {
    const g = group(rule.from);
    for (const to of rule.to) {
      if (!g.fallbacks.includes(to)) g.fallbacks.push(to);
      group(to);
    }
  }
  for (const [name, { where }] of elsewhere) if (where.at === 'cloud') group(name);

  return {
    url: `http://127.0.0.1:${proxyPort}`,
    ...(proxy ? {} : { urlNote: 'no litellm unit found: the proxy’s default port is assumed' }),
    masterKey,
    ...(masterKeyNote ? { masterKeyNote } : {}),
    saltKey: 'env:LITELLM_SALT_KEY',
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(databaseUrlNote ? { databaseUrlNote } : {}),
    ...(found.configPath && !found.error ? { configPath: found.configPath } : {}),
    host: d.hostName,
    groups: [...groups.values()],
  };
}

/** router_settings.fallbacks, then litellm_settings.fallbacks for groups the router does not name. */
function fallbackRules(d: Discovery): FallbackRule[] {
  const file = d.litellm.file;
  if (!file) return [];
  const rules = [...file.routerSettings.fallbacks];
  for (const rule of file.litellmSettings.fallbacks) if (!rules.some((r) => r.from === rule.from)) rules.push(rule);
  return rules;
}

function pickUnit(units: readonly AnalyzedUnit[]): AnalyzedUnit | undefined {
  const rank = (a: AnalyzedUnit) => (a.unit.activeState === 'active' ? 0 : a.unit.unitFileState === 'enabled' ? 1 : 2);
  return [...units].sort((x, y) => rank(x) - rank(y))[0];
}

/** llama-server (and TEI, Infinity) answer /health; vLLM and the rest list their model at /v1/models. */
function healthFor(kind: ServerKind, base: string, port: number, id: string | undefined): Record<string, string> | undefined {
  let host = '127.0.0.1';
  try {
    host = probeHost(new URL(base).hostname.replace(/^\[|\]$/g, ''));
  } catch {
    // keep 127.0.0.1
  }
  const origin = `http://${host}:${port}`;
  if (kind === 'llamacpp' || kind === 'tei' || kind === 'infinity') return { url: `${origin}/health` };
  return id ? { modelsUrl: `${origin}/v1/models`, id } : { modelsUrl: `${origin}/v1/models` };
}

/** The VRAM its processes hold now; a unit that is not running gets a note instead. */
function vramFor(a: AnalyzedUnit): { miB?: number; note?: string } {
  if (a.vramMiB !== undefined) return { miB: a.vramMiB };
  if (a.unit.activeState !== 'active') return { note: 'not running: its VRAM is measured after its first /start (set vramMiB meanwhile for admission)' };
  return {};
}

function vramText(a: AnalyzedUnit): string {
  if (a.vramMiB !== undefined) return `${a.vramMiB} MiB (pid ${a.unit.mainPid})`;
  return a.unit.activeState === 'active' ? 'none held' : `– (${a.unit.activeState})`;
}

function tilde(path: string, home: string): string {
  return home && path.startsWith(`${home}/`) ? `~/${path.slice(home.length + 1)}` : path;
}

function stripProvider(model: string | undefined): string | undefined {
  if (!model) return undefined;
  const slash = model.indexOf('/');
  return slash > 0 && /^[a-z_][a-z0-9_-]*$/.test(model.slice(0, slash)) ? model.slice(slash + 1) : model;
}

function normaliseTag(tag: string): string {
  return tag.includes(':') ? tag : `${tag}:latest`;
}

function sameTag(a: string, b: string): boolean {
  return normaliseTag(a) === normaliseTag(b);
}

/** The folder most model files of the units live in (`/status` shows that disk). */
function modelDirOf(d: Discovery): string | undefined {
  const dirs = d.analyzed.map((a) => a.command.model).filter((m): m is string => Boolean(m?.startsWith('/'))).map((m) => dirname(m));
  if (dirs.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const dir of dirs) counts.set(dir, (counts.get(dir) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
}

function sources(d: Discovery): Plan['sources'] {
  const rows: Plan['sources'] = [];
  const l = d.litellm;
  if (l.file) {
    const groups = new Set(l.file.models.map((m) => m.modelName)).size;
    rows.push({ what: 'LiteLLM config', where: `${l.configPath} (${l.foundBy})`, found: `${groups} model groups, store_model_in_db: ${l.file.storeModelInDb ?? 'unset'}` });
  } else if (l.error) rows.push({ what: 'LiteLLM config', where: `${l.configPath} (${l.foundBy})`, found: l.error });
  else rows.push({ what: 'LiteLLM config', where: 'not found', found: `looked in ${l.looked.join(', ')}` });
  if (l.file) rows.push({ what: 'LiteLLM database', where: l.databaseUrlEnv ? `$${l.databaseUrlEnv}` : '–', found: l.db.state === 'read' ? l.db.detail : `not read: ${l.db.detail}` });
  rows.push(
    d.units.available
      ? { what: 'systemd --user', where: 'systemctl --user', found: `${d.units.units.length} service units, ${d.analyzed.filter((a) => a.own).length} of them the lab’s${d.units.problems.length ? `; ${d.units.problems.join('; ')}` : ''}` }
      : { what: 'systemd --user', where: 'systemctl --user', found: d.units.reason },
  );
  for (const o of d.ollama) {
    rows.push({ what: 'Ollama', where: o.url, found: o.reachable ? `${o.installed.length} pulled, ${o.loaded.length} loaded` : `unreachable: ${o.detail ?? '?'}` });
  }
  if (d.ollama.length === 0) rows.push({ what: 'Ollama', where: `http://127.0.0.1:${DEFAULT_PORTS.ollama}`, found: 'none answered' });
  rows.push({ what: 'GPUs', where: 'nvidia-smi', found: `${describeGpus(d.gpus.snapshot)}${d.gpus.appsProblem ? `; per-process VRAM: ${d.gpus.appsProblem}` : ''}` });
  return rows;
}

function optionalString<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
