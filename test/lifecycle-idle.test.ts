import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notice } from '../src/notify/notice.js';
import { idlePassKey } from '../src/state/model-keys.js';
import { startWorkerProcess, type CliProcess } from './support/cli.js';
import { waitFor } from './support/engines-helpers.js';
import { DATABASE_URL, REDIS_URL, uniqueName } from './support/env.js';
import { collectNotices, createLifecycleLab, jobRows, type LifecycleLab } from './support/lifecycle-lab.js';

const IDLE = 'chat-idle-llamacpp';
const BUSY = 'chat-busy-llamacpp';
const PINNED = 'chat-pinned-llamacpp';
const TTL_MS = 2_000;

/** LiteLLM's spend log, with the columns of its schema.prisma (one row per request through the proxy). */
const SPEND_LOGS = `
  CREATE TABLE "LiteLLM_SpendLogs" (
    "request_id" TEXT NOT NULL,
    "call_type" TEXT NOT NULL,
    "api_key" TEXT NOT NULL DEFAULT '',
    "spend" DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "prompt_tokens" INTEGER NOT NULL DEFAULT 0,
    "completion_tokens" INTEGER NOT NULL DEFAULT 0,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3) NOT NULL,
    "completionStartTime" TIMESTAMP(3),
    "model" TEXT NOT NULL DEFAULT '',
    "model_id" TEXT DEFAULT '',
    "model_group" TEXT DEFAULT '',
    "custom_llm_provider" TEXT DEFAULT '',
    "api_base" TEXT DEFAULT '',
    "user" TEXT DEFAULT '',
    "metadata" JSONB DEFAULT '{}',
    "cache_hit" TEXT DEFAULT '',
    "cache_key" TEXT DEFAULT '',
    "request_tags" JSONB DEFAULT '[]',
    "team_id" TEXT,
    "end_user" TEXT,
    "requester_ip_address" TEXT,
    CONSTRAINT "LiteLLM_SpendLogs_pkey" PRIMARY KEY ("request_id")
  );
  CREATE INDEX "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs"("startTime");`;

describe('idle unload from LiteLLM spend logs', () => {
  const litellmSchema = uniqueName('litellm');
  const db = new pg.Client({ connectionString: DATABASE_URL });
  let lab: LifecycleLab;
  let worker: CliProcess;
  let notices: ReturnType<typeof collectNotices>;
  let requests: NodeJS.Timeout | null = null;
  let n = 0;

  /** One request as the proxy logs it: "startTime" in UTC, model_group the public name, model the deployment. */
  const logRequest = async (group: string, agoMs = 0) => {
    n += 1;
    await db.query(
      `INSERT INTO ${pg.escapeIdentifier(litellmSchema)}."LiteLLM_SpendLogs" (request_id, call_type, "startTime", "endTime", model, model_group, api_base)
       VALUES ($1, 'acompletion', (now() AT TIME ZONE 'UTC') - $2 * interval '1 millisecond', (now() AT TIME ZONE 'UTC') - $2 * interval '1 millisecond', 'openai/local', $3, 'http://127.0.0.1:8080/v1')`,
      [`req-${n}`, agoMs, group],
    );
  };

  beforeAll(async () => {
    await db.connect();
    await db.query(`CREATE SCHEMA ${pg.escapeIdentifier(litellmSchema)}`);
    await db.query(`SET search_path TO ${pg.escapeIdentifier(litellmSchema)}`);
    await db.query(SPEND_LOGS);
    const url = new URL(DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${litellmSchema}`);
    lab = await createLifecycleLab({
      models: {
        [IDLE]: { fakeVramMiB: 1000, config: { vramMiB: 1000, idleTtl: '2s' } },
        [BUSY]: { fakeVramMiB: 1000, config: { vramMiB: 1000, idleTtl: '2s', litellmName: 'chat-default-local' } },
        [PINNED]: { fakeVramMiB: 1000, config: { vramMiB: 1000, idleTtl: '2s', pinned: true } },
      },
      litellm: { databaseUrl: url.toString() },
      worker: { idleCheckInterval: '300ms' },
      // the pinned model is stopped until the test starts it: no "model down" for it here (test/alerts-*.test.ts test that)
      host: { alerts: { modelDown: { enabled: false } } },
    });
    notices = collectNotices(lab.prefix);
    worker = await startWorkerProcess(lab);
  });

  afterAll(async () => {
    if (requests) clearInterval(requests);
    await worker?.stop();
    await notices?.close();
    await lab?.dispose();
    await db.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(litellmSchema)} CASCADE`).catch(() => undefined);
    await db.end();
  });

  it('/models says how each model is unloaded', async () => {
    const models = await lab.exec('/models');
    const byName = Object.fromEntries((models.data!.models as { name: string; idleUnload: { mode: string; note: string } }[]).map((m) => [m.name, m.idleUnload]));
    expect(byName[IDLE]).toEqual({ mode: 'spend-logs', note: 'after 2 s without requests (LiteLLM spend logs)' });
    expect(byName[PINNED]).toEqual({ mode: 'never', note: 'never: pinned' });
  });

  it('stops a model idle for its TTL since its start, keeps a busy one and a pinned one, and announces the stop', async () => {
    // an old request does not count: idle is measured from the later of the last request and the start
    await logRequest(IDLE, 3_600_000);
    // the busy model gets a request every 300 ms, logged under its LiteLLM name
    await logRequest('chat-default-local');
    requests = setInterval(() => void logRequest('chat-default-local').catch(() => undefined), 300);

    // idle is counted from the start, which is after this moment: the stop cannot come sooner than the TTL after it
    const requestedAt = Date.now();
    const results = await Promise.all([IDLE, BUSY, PINNED].map((m) => lab.exec(`/start ${m}`)));
    for (const r of results) expect(r.code, r.raw).toBe(0);
    const readyAt = Date.now();

    const notice = await notices.waitFor((n: Notice) => n.channel === 'log' && n.reply.title.startsWith(`Stopped ${IDLE}`), 15_000);
    expect(Date.now() - requestedAt).toBeGreaterThanOrEqual(TTL_MS);
    expect(notice.reply.title).toMatch(new RegExp(`^Stopped ${IDLE} on gpu-1: idle for \\d+ s since its start \\(idle TTL 2 s\\)$`));
    expect(notice.reply.data).toMatchObject({ notice: 'idle-unload', status: 'stopped', freedMiB: 1000, requestedBy: 'labops (idle unload)' });
    await waitFor(() => lab.servers(IDLE).length === 0, 5_000, 'the idle model to be gone');

    // two idle checks that ran once both were past the TTL: the busy model (requests) and the pinned one (never) still run
    await idlePasses(lab, 2, readyAt + TTL_MS);
    expect(lab.servers(BUSY)).toHaveLength(1);
    expect(lab.servers(PINNED)).toHaveLength(1);

    // requests stop: the busy model goes too, through a queued, audited model.stop
    clearInterval(requests);
    requests = null;
    await notices.waitFor((n: Notice) => n.reply.title.startsWith(`Stopped ${BUSY}`), 15_000);
    await waitFor(() => lab.servers(BUSY).length === 0, 5_000, 'the busy model to be gone');
    const stops = await waitFor(async () => {
      const rows = await jobRows(lab, 'model.stop');
      return rows.length >= 2 ? rows : null;
    }, 5_000, 'the audit rows');
    expect(stops.map((r) => r.actor_name)).toEqual(['labops (idle unload)', 'labops (idle unload)']);
    expect(stops.map((r) => (r.args as { model: string }).model).sort()).toEqual([BUSY, IDLE]);

    await idlePasses(lab, 2, Date.now());
    expect(lab.servers(PINNED)).toHaveLength(1);
    expect(notices.notices.filter((n) => n.reply.title.includes(PINNED))).toHaveLength(0);
  }, 60_000);
});

/** Waits until the worker's idle-unload loop has finished `n` passes that began at or after `after` (its pass record in Redis). */
async function idlePasses(lab: LifecycleLab, n: number, after: number): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let first: number | null = null;
    await waitFor(async () => {
      const pass = await redis.hgetall(idlePassKey(lab.prefix, 'gpu-1'));
      if (Number(pass.startedAt) < after) return false;
      first ??= Number(pass.passes);
      return Number(pass.passes) - first + 1 >= n;
    }, 20_000, `${n} idle checks`);
  } finally {
    redis.disconnect();
  }
}
