import type pg from 'pg';
import type { JobRun } from '../../contracts/define.js';
import { repairLine } from '../../contracts/doctor.js';
import type { LiteLLMPlan, LiteLLMRepairPayload, LiteLLMResult } from '../../contracts/repair-litellm.js';
import { errorMessage, failedError, isUserError, unavailableError, usageError } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import { deriveKeys, type LiteLLMKeys } from '../../litellm/crypto.js';
import { configFilePath, litellmDb } from '../../litellm/from-config.js';
import { litellmRepairReply } from '../../notify/repair-reply.js';
import type { WorkerContext } from '../context.js';
import { draftAdminUser } from './admin-user.js';
import { readText, replaceText, writeConfigAtomically } from './config-write.js';
import { digestOf, sha256, type Draft } from './draft.js';
import { draftEncryptedProviders } from './encrypted-providers.js';
import { takeRepairLock } from './lock.js';
import { draftModelLimits } from './model-limits.js';
import { draftRename } from './rename.js';
import { seal } from './seal.js';
import { readDbState } from './state.js';
import { draftUndo, type RepairImage } from './undo.js';
import { verifyRepair } from './verify.js';
import { writeRows } from './write-rows.js';

/** A LiteLLM repair's dry run: the whole diff, masked; nothing is changed. */
export async function planLiteLLMRepair(ctx: WorkerContext, repair: LiteLLMRepairPayload, signal: AbortSignal): Promise<LiteLLMPlan> {
  const draft = await withDb(ctx, async (client) => await draftFor(ctx, repair, client, false, 'labops'));
  signal.throwIfAborted();
  return { kind: repair.kind, host: ctx.hostName, changes: draft.changes, skipped: draft.skipped, digest: digestOf(draft), refused: draft.refused ?? null };
}

/**
 * Applies a LiteLLM repair (or an undo): one repair per proxy at a time; the plan is drawn again
 * with the rows locked and must be the one confirmed; every row is written in one transaction and
 * config.yaml is replaced atomically before the commit — any failure leaves both as they were.
 * Then the before-image goes to the audit row, the /doctor checks and a smoke verify it, and the
 * log channel is told.
 */
export async function applyLiteLLMRepair(ctx: WorkerContext, job: JobRun<unknown>, repair: LiteLLMRepairPayload, digest: string, signal: AbortSignal): Promise<LiteLLMResult> {
  const who = job.requestedBy?.name ?? 'labops';
  const by = `labops:${who}`;
  const release = await takeRepairLock(ctx.redis, ctx.prefix, ctx.hostName, { jobId: job.id, who, kind: repair.kind });
  let draft: Draft;
  let image: RepairImage;
  try {
    await job.progress(`applying ${repair.kind}`);
    ({ draft, image } = await withDb(ctx, async (client) => {
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL lock_timeout = '10s'`);
        const locked = await draftFor(ctx, repair, client, true, by);
        if (locked.refused) throw failedError(`Not undone: ${locked.refused}.`);
        if (digestOf(locked) !== digest) throw failedError('What the repair would change is not what the dry run showed (something changed since); nothing was changed.', 'Run the repair again to see the new plan.');
        if (locked.rows.length === 0 && !locked.file) throw usageError(`Nothing to repair: ${repair.kind} would change nothing.`);
        const rows = await writeRows(client, locked.rows);
        const file = locked.file ? { path: locked.file.path, backup: `${locked.file.path}.labops-${job.auditId}.bak`, beforeSha256: sha256(locked.file.before), afterSha256: sha256(locked.file.after) } : null;
        if (locked.file && file) await writeConfigAtomically(locked.file.path, locked.file.before, locked.file.after, file.backup);
        try {
          await client.query('COMMIT');
        } catch (err) {
          if (locked.file) await replaceText(locked.file.path, locked.file.before);
          throw err;
        }
        return { draft: locked, image: { kind: repair.kind, rows, file } };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }));
  } finally {
    await release();
  }

  const undo = repairLine('undo', { audit: job.auditId });
  job.auditDetail({
    repair: repair.kind,
    ...(repair.kind === 'undo' ? { undoes: repair.audit } : {}),
    undo,
    changes: draft.changes,
    skipped: draft.skipped,
    file: image.file,
    image: seal(image, sealKeys(ctx)),
  });
  await job.progress('verifying: /doctor checks and a smoke of the touched models');
  // applied and committed: a verification or a post that fails is reported, never turned into a failed repair
  const verification = await verifyRepair(ctx, draft, signal).catch((err: unknown) => ({
    doctor: [],
    checks: draft.checks,
    smoke: null,
    smokeSkipped: `the verification itself failed: ${redact(errorMessage(err))}`,
  }));
  const result: LiteLLMResult = { kind: repair.kind, host: ctx.hostName, jobId: job.id, auditId: job.auditId, undo, changes: draft.changes, skipped: draft.skipped, verification };
  await ctx.notify.post('log', litellmRepairReply(result, who)).catch((err: unknown) => ctx.logger.warn({ err: redact(errorMessage(err)), auditId: job.auditId }, 'could not post the repair to the log channel'));
  return result;
}

async function draftFor(ctx: WorkerContext, repair: LiteLLMRepairPayload, client: pg.ClientBase, lock: boolean, by: string): Promise<Draft> {
  const litellm = ctx.config.litellm;
  const state = await readDbState(client, litellm.proxyAdminId, lock);
  switch (repair.kind) {
    case 'encrypted-providers': {
      if (!litellm.saltKey) throw unavailableError('The DB models cannot be decrypted: litellm.saltKey is not set.', "Set it to the proxy's LITELLM_SALT_KEY and restart the worker.");
      return draftEncryptedProviders(state, deriveKeys(litellm.saltKey), litellm.encryption, by);
    }
    case 'admin-user':
      return draftAdminUser(state, litellm.proxyAdminId);
    case 'model-limits': {
      const inventory = ctx.inventory.models();
      const rpm = new Map(inventory.filter((m) => m.model.rpm).map((m) => [m.model.litellmName ?? m.name, m.model.rpm!]));
      const vision = new Set(inventory.filter((m) => m.model.type === 'vision').map((m) => m.model.litellmName ?? m.name));
      const rules = { timeout: litellm.limits.timeout, visionMaxTokens: litellm.limits.visionMaxTokens, rpmOf: (n: string) => rpm.get(n) ?? litellm.limits.rpm, vision, overwrite: repair.overwrite };
      return draftModelLimits(state, await configText(ctx), litellm.saltKey ? deriveKeys(litellm.saltKey) : null, rules, by);
    }
    case 'rename':
      return draftRename(state, await configText(ctx), repair.model, repair.to, by);
    case 'undo':
      return await draftUndo(await ctx.audit.get(repair.audit), repair.audit, sealKeys(ctx), client, lock);
  }
}

/** config.yaml's text, or null when litellm.configPath is not set. */
async function configText(ctx: WorkerContext): Promise<{ path: string; text: string } | null> {
  const path = configFilePath(ctx.config);
  return path.ok ? { path: path.value, text: await readText(path.value) } : null;
}

/** The before-images are sealed with the salt key (else the master key, as LiteLLM itself falls back). */
function sealKeys(ctx: WorkerContext): LiteLLMKeys {
  const key = ctx.config.litellm.saltKey ?? ctx.config.litellm.masterKey;
  if (!key) throw unavailableError('A repair keeps its before-image encrypted with litellm.saltKey (or litellm.masterKey), and neither is set.');
  return deriveKeys(key);
}

/** Runs on the proxy's host only, with LiteLLM's database. */
async function withDb<T>(ctx: WorkerContext, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  if (ctx.config.litellm.host !== ctx.hostName) throw usageError(`LiteLLM repairs run on the worker of the proxy's host (litellm.host: ${ctx.config.litellm.host ?? 'not set'}), not on ${ctx.hostName}.`);
  sealKeys(ctx);
  const access = litellmDb(ctx.config);
  if (!access.ok) throw unavailableError(`LiteLLM repairs need its database: ${access.why}.`);
  const db = access.value;
  try {
    const client = await db.client();
    try {
      return await fn(client);
    } catch (err) {
      if (isUserError(err)) throw err;
      const code = (err as { code?: string }).code ?? '';
      if (/^2[23]/.test(code)) throw failedError(`LiteLLM's database refused the change (${redact(errorMessage(err))}); nothing was changed.`);
      throw db.explain(err);
    } finally {
      client.release();
    }
  } finally {
    await db.close();
  }
}
