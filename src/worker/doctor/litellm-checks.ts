import type { CheckId } from '../../contracts/doctor.js';
import { isUserError } from '../../core/errors.js';
import { failureText } from '../../litellm/failure-text.js';
import { readLiteLLMConfig, readRouting, type LiteLLMConfigFile } from '../../litellm/config-file.js';
import type { AdminUser, DbModel } from '../../litellm/db.js';
import { checkAdminUser } from '../../litellm/doctor/admin-user.js';
import { checkFallbacks, type RoutingSource } from '../../litellm/doctor/fallbacks.js';
import { found, notChecked, type Found } from '../../litellm/doctor/finding.js';
import { checkModelLimits, checkVisionMaxTokens } from '../../litellm/doctor/limits.js';
import { checkModelNames } from '../../litellm/doctor/model-names.js';
import { configView, dbView, type ModelView } from '../../litellm/doctor/model-view.js';
import { checkStoredParams } from '../../litellm/doctor/stored-params.js';
import { configFilePath, litellmDb, proxyClient, saltKeys } from '../../litellm/from-config.js';
import { readSmokeResults } from '../../state/smoke-results.js';
import type { WorkerContext } from '../context.js';
import { smokeFindings } from './host-checks.js';

export interface LiteLLMChecks {
  findings: Found[];
  ran: CheckId[];
  stats: { dbModels: number; decrypted: number; decryptMs: number };
}

/** What the proxy, its database and its config.yaml say, read once each. */
interface Inputs {
  /** the readiness `db` value when it is not "connected" */
  proxySaysDb: string | null;
  file: LiteLLMConfigFile | null;
  fileProblem: string | null;
  rows: DbModel[] | null;
  admin: AdminUser | null;
  dbSettings: Record<string, unknown>;
  dbProblem: string | null;
  /** the DB URL is set (so a problem is the database's, not a missing setting) */
  dbConfigured: boolean;
}

/**
 * Every LiteLLM check of the incident (run on the proxy's host), read-only. Each check runs on what
 * could be read; one that could not run is one `checked: false` finding that says what to configure.
 */
export async function litellmChecks(ctx: WorkerContext, signal: AbortSignal, progress: (text: string) => void): Promise<LiteLLMChecks> {
  const findings: Found[] = [];
  const ran = new Set<CheckId>();
  const stats = { dbModels: 0, decrypted: 0, decryptMs: 0 };

  const proxySaysDb = await checkProxy(ctx, signal, findings, ran, progress);
  const inputs = { proxySaysDb, ...(await readFile(ctx)), ...(await readDb(ctx, signal, progress)) } satisfies Inputs;
  const { file, rows } = inputs;

  if (inputs.dbProblem) {
    const also = proxySaysDb ? ` The proxy's /health/readiness says db: ${proxySaysDb} too.` : '';
    const subject = inputs.dbConfigured ? 'database' : 'litellm.databaseUrl';
    findings.push(notChecked('proxy-db', subject, `${inputs.dbProblem}.${also} Not checked: provider-unreadable, admin-user, fallback-dangling, and the DB models' names and limits.`));
  } else if (proxySaysDb) {
    findings.push(
      found(
        'proxy-db',
        'database',
        'error',
        `The proxy's /health/readiness says db: ${proxySaysDb}, while labops reaches the database: the proxy serves config.yaml models only and the UI login fails. Check the proxy's DATABASE_URL and restart it.`,
      ),
    );
  }

  // the DB rows as the router reads them
  let dbViews: ModelView[] = [];
  const keys = saltKeys(ctx.config);
  if (!keys.ok) {
    findings.push(
      notChecked(
        'provider-unreadable',
        'litellm.saltKey',
        `${keys.why}: the DB models' stored params cannot be decrypted, so provider-unreadable was not checked and model-limits and vision-max-tokens looked at config.yaml only.`,
      ),
    );
  }
  if (rows) {
    stats.dbModels = rows.length;
    if (keys.ok) {
      progress(`decrypting the params of ${rows.length} DB model${rows.length === 1 ? '' : 's'}`);
      const t0 = performance.now();
      const checked = checkStoredParams(rows, keys.value);
      stats.decryptMs = Math.round((performance.now() - t0) * 10) / 10;
      stats.decrypted = checked.decrypted;
      findings.push(...checked.findings);
      dbViews = checked.models.map((m) => dbView(m.row, m.effective));
      ran.add('provider-unreadable');
    } else {
      dbViews = rows.map((row) => dbView(row, null));
    }
  }

  if (inputs.admin) {
    findings.push(...checkAdminUser(inputs.admin, file?.storeModelInDb));
    ran.add('admin-user');
  }

  const fileViews = file ? file.models.map(configView) : [];
  const views = [...fileViews, ...dbViews];
  if (file || rows) {
    findings.push(...checkModelNames(views, new Set(Object.keys(ctx.config.litellm.groups))));
    findings.push(...checkModelLimits(views));
    findings.push(...checkVisionMaxTokens(views, visionNames(ctx)));
    ran.add('model-name').add('model-limits').add('vision-max-tokens');
  }

  if (!file) {
    const subject = configFilePath(ctx.config).ok ? 'config.yaml' : 'litellm.configPath';
    findings.push(notChecked('fallback-dangling', subject, `${inputs.fileProblem}: config.yaml's models, fallbacks and router settings were not checked.`));
  } else if (rows) {
    findings.push(...checkFallbacks(routingSources(ctx, file, inputs.dbSettings), knownNames(file, rows, inputs.dbSettings)));
    ran.add('fallback-dangling');
  }

  findings.push(...smokeFindings((await readSmokeResults(ctx.redis, ctx.prefix)).values()));
  ran.add('smoke');
  return { findings, ran: [...ran], stats };
}

/** proxy-live, and proxy-db as far as the proxy's readiness tells: the readiness `db` value when not "connected". */
async function checkProxy(ctx: WorkerContext, signal: AbortSignal, findings: Found[], ran: Set<CheckId>, progress: (text: string) => void): Promise<string | null> {
  const proxy = proxyClient(ctx.config);
  if (!proxy.ok) {
    findings.push(notChecked('proxy-live', 'litellm.url', `${proxy.why}: the proxy's liveliness and readiness were not checked.`));
    return null;
  }
  progress(`asking the proxy at ${proxy.value.baseUrl}`);
  ran.add('proxy-live');
  const live = await proxy.value.liveliness({ signal });
  if (!live.ok) {
    findings.push(found('proxy-live', 'proxy', 'error', `The LiteLLM proxy does not answer /health/liveliness: ${failureText(live)}.`, proxyStartLine(ctx)));
    return null;
  }
  ran.add('proxy-db');
  const ready = await proxy.value.readiness({ signal });
  if (!ready.ok) {
    findings.push(found('proxy-db', 'proxy', 'error', `The proxy's /health/readiness failed: ${failureText(ready)} (it answers 503 when it cannot reach its database).`));
    return null;
  }
  return ready.db === 'connected' ? null : ready.db || 'not reported';
}

async function readFile(ctx: WorkerContext): Promise<Pick<Inputs, 'file' | 'fileProblem'>> {
  const path = configFilePath(ctx.config);
  if (!path.ok) return { file: null, fileProblem: path.why };
  try {
    return { file: await readLiteLLMConfig(path.value), fileProblem: null };
  } catch (err) {
    if (!isUserError(err)) throw err;
    return { file: null, fileProblem: err.message };
  }
}

async function readDb(ctx: WorkerContext, signal: AbortSignal, progress: (text: string) => void): Promise<Pick<Inputs, 'rows' | 'admin' | 'dbSettings' | 'dbProblem' | 'dbConfigured'>> {
  const access = litellmDb(ctx.config);
  if (!access.ok) return { rows: null, admin: null, dbSettings: {}, dbProblem: access.why, dbConfigured: false };
  const db = access.value;
  try {
    progress(`reading ${db.name}`);
    const rows = await db.models(signal);
    const admin = await db.adminUser(ctx.config.litellm.proxyAdminId, signal);
    const dbSettings = await db.configRows(signal);
    return { rows, admin, dbSettings, dbProblem: null, dbConfigured: true };
  } catch (err) {
    if (!isUserError(err)) throw err;
    return { rows: null, admin: null, dbSettings: {}, dbProblem: err.message.replace(/\.$/, ''), dbConfigured: true };
  } finally {
    await db.close();
  }
}

/** config.yaml's routing, the DB's (settings saved from the UI override the file), and labops' own groups. */
function routingSources(ctx: WorkerContext, file: LiteLLMConfigFile, dbSettings: Record<string, unknown>): RoutingSource[] {
  const sources: RoutingSource[] = [
    { where: 'config.yaml router_settings', settings: file.routerSettings },
    { where: 'config.yaml litellm_settings', settings: file.litellmSettings },
  ];
  for (const name of ['router_settings', 'litellm_settings']) {
    const value = dbSettings[name];
    if (isRecord(value)) sources.push({ where: `LiteLLM_Config ${name}`, settings: readRouting(value, name, []) });
  }
  const groups = Object.entries(ctx.config.litellm.groups).filter(([, g]) => g.fallbacks.length > 0);
  if (groups.length > 0) {
    sources.push({ where: 'labops.yaml litellm.groups', settings: { fallbacks: groups.map(([from, g]) => ({ from, to: g.fallbacks })), contextWindowFallbacks: [], modelGroupAlias: {} } });
  }
  return sources;
}

function knownNames(file: LiteLLMConfigFile, rows: readonly DbModel[], dbSettings: Record<string, unknown>): Set<string> {
  const aliases = [file.routerSettings, file.litellmSettings].flatMap((s) => Object.keys(s.modelGroupAlias));
  for (const name of ['router_settings', 'litellm_settings']) {
    const value = dbSettings[name];
    if (isRecord(value)) aliases.push(...Object.keys(readRouting(value, name, []).modelGroupAlias));
  }
  return new Set([...file.models.map((m) => m.modelName), ...rows.map((r) => r.modelName), ...aliases]);
}

/** LiteLLM names of the inventory's vision models. */
function visionNames(ctx: WorkerContext): Set<string> {
  return new Set(ctx.inventory.models().filter((m) => m.model.type === 'vision').map((m) => m.model.litellmName ?? m.name));
}

/** `/start model:litellm` when the inventory of this host has the proxy as a model. */
function proxyStartLine(ctx: WorkerContext): string | null {
  const proxy = ctx.inventory.models(ctx.hostName).find((m) => m.model.type === 'proxy');
  return proxy ? `/start model:${proxy.name}` : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
