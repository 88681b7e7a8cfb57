/**
 * The real /start and /stop through Discord: the bot and a worker as child processes, a real
 * model process (the tiny OpenAI-compatible server behind a start script), and the confirmation
 * of /stop pressed first by someone else (refused, privately) and then by the invoker.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, startWorkerProcess } from './support/cli.js';
import { startDiscordLab, type DiscordLab } from './support/discord-lab.js';
import { auditRows, ROOT } from './support/env.js';
import type { RecordedCall } from './support/fake-discord/index.js';

const EPHEMERAL = 64;
const MODEL = 'chat-hermes-3-llama-3.1-8b';

let env: DiscordLab;
let worker: CliProcess;
let bot: CliProcess;
let pidFile: string;

const ok200 = (c: RecordedCall) => c.status === 200;
const buttonsOf = (message: { components?: { components: { custom_id: string; label: string; disabled?: boolean }[] }[] }) =>
  (message?.components ?? []).flatMap((r) => r.components);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Audit rows are written just after the reply: wait until `n` of them match. */
async function waitForRows(match: (row: Record<string, unknown>) => boolean, n: number): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const rows = (await auditRows(env.lab)).filter(match);
    if (rows.length >= n || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  env = await startDiscordLab();
  const dir = env.lab.dir;
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const start = join(dir, 'bin/start.sh');
  // the lab's PATH holds node; the server is the model process the pid file names
  writeFileSync(start, `#!/bin/sh\nexec node ${join(ROOT, 'test/support/model-server.mjs')} --port 0 --model-id hermes-discord-e2e\n`);
  chmodSync(start, 0o755);
  pidFile = join(dir, 'run/hermes.pid');
  worker = await startWorkerProcess(env.lab);
  bot = new CliProcess(['bot'], env.botEnv);
  await bot.waitFor(/"msg":"Discord ready"/, { stream: 'stderr', timeoutMs: 20_000 });
});

afterAll(async () => {
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
  }
  await bot?.stop();
  await worker?.stop();
  await env?.close();
});

describe('/start and /stop on Discord', () => {
  it('/start by alias: deferred publicly, a progress edit, then "ready"', async () => {
    const cmd = env.fake.slashCommand({ name: 'start', user: 'olga', channel: 'ops', options: { model: 'chat-hermes' } });
    expect(await cmd.waitForCallback()).toMatchObject({ status: 204, body: { type: 5 } });
    const ready = await cmd.waitForEdit((c) => ok200(c) && /is ready on gpu-1/.test(c.message?.embeds?.[0]?.title ?? ''), 20_000);
    expect(ready.message.embeds[0].title).toMatch(new RegExp(`^${MODEL.replace(/\./g, '\\.')} is ready on gpu-1 \\(\\d+ s\\)`));
    expect(cmd.original().flags & EPHEMERAL).toBe(0);
    const progress = cmd.calls().filter((c) => c.method === 'PATCH' && c.seq < ready.seq).map((c) => JSON.stringify(c.message));
    // progress edits the same message before the result (throttled to one per 1.5 s, so a quick start shows few)
    expect(progress[0], progress.join('\n')).toContain(`⏳ queued: start ${MODEL} on gpu-1`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);
  });

  it('/stop asks; someone else\'s press is refused privately; the invoker\'s press stops the model', async () => {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const cmd = env.fake.slashCommand({ name: 'stop', user: 'olga', channel: 'ops', options: { model: 'chat-hermes' } });
    const prompt = await cmd.waitForEdit((c) => ok200(c) && buttonsOf(c.message).length === 2, 15_000);
    expect(prompt.message.embeds[0].title).toBe(`⚠ Stop ${MODEL} on gpu-1?`);
    expect(prompt.message.embeds[0].description ?? '').toMatch(/in flight/);
    const [confirm] = buttonsOf(prompt.message);
    expect(confirm!.custom_id).toMatch(/^stop:confirm:/);
    expect(confirm!.custom_id.length).toBeLessThanOrEqual(100);

    const other = env.fake.pressButton({ customId: confirm!.custom_id, user: 'oscar' });
    const refusal = await other.waitForFollowUp();
    expect(refusal.body.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(alive(pid)).toBe(true);

    const mine = env.fake.pressButton({ customId: confirm!.custom_id, user: 'olga' });
    const done = await mine.waitForEdit((c) => ok200(c) && /is stopped on gpu-1/.test(c.message?.embeds?.[0]?.title ?? ''), 20_000);
    expect(done.message.embeds[0].title).toMatch(new RegExp(`^${MODEL.replace(/\./g, '\\.')} is stopped on gpu-1`));
    expect(alive(pid)).toBe(false);

    // both presses are in the audit log, the refused one as a denial
    const rows = await waitForRows((r) => r.kind === 'button' && r.command === 'stop', 2);
    expect(rows.map((r) => [r.actor_name, r.outcome])).toEqual(expect.arrayContaining([['oscar', 'denied'], ['olga', 'ok']]));
  });

  it('/stop of a stopped model answers "already stopped" without asking', async () => {
    const cmd = env.fake.slashCommand({ name: 'stop', user: 'olga', channel: 'ops', options: { model: MODEL } });
    const edit = await cmd.waitForEdit((c) => ok200(c) && /already stopped/.test(c.message?.embeds?.[0]?.title ?? ''), 15_000);
    expect(buttonsOf(edit.message)).toHaveLength(0);
  });
});
