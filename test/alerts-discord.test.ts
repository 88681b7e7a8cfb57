/**
 * Worker offline, raised by the bot (a real `labops bot` against the fake Discord) when a real
 * worker is killed, and acknowledged and silenced with the alert's own buttons: the message is
 * edited in place, every press is audited, acknowledgements and silences live in Redis and so
 * survive a bot restart; a silenced alert changes state without a post, and its current state is
 * posted once when the silence is lifted. /alerts and /silence through `labops exec --json`.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertRedisKey } from '../src/alerts/redis-store.js';
import { CliProcess, runCli, startWorkerProcess } from './support/cli.js';
import { IDS, startDiscordLab, type DiscordLab } from './support/discord-lab.js';
import { auditRows, REDIS_URL } from './support/env.js';
import { waitFor } from './support/engines-helpers.js';
import type { RecordedCall } from './support/fake-discord/index.js';

const KEY = 'gpu-1:worker:worker-offline';
const EPHEMERAL = 64;

let env: DiscordLab;
let bot: CliProcess;
let worker: CliProcess | null = null;
const redis = new Redis(REDIS_URL);

type Wire = { id: string; embeds: { title: string; description?: string }[]; components?: { components: { custom_id: string; label: string }[] }[] };
const buttons = (m: Wire | undefined) => (m?.components ?? []).flatMap((r) => r.components);
const button = (m: Wire | undefined, label: string) => buttons(m).find((b) => b.label === label)!.custom_id;
const isAlertWrite = (c: RecordedCall) => c.params.channel === IDS.channels.alerts && c.status === 200 && (c.method === 'POST' || c.method === 'PATCH') && c.route.startsWith('/channels/');
const alertState = async () => await redis.hgetall(alertRedisKey(env.lab.prefix, { host: 'gpu-1', subject: 'worker', kind: 'worker-offline' }));
const exec = async (line: string, as: string) => {
  const r = await runCli(['exec', line, '--as', as, '--json'], env.lab.env, { timeoutMs: 30_000 });
  return { code: r.code, ...(JSON.parse(r.stdout) as { outcome: string; title: string; data: Record<string, unknown> }) };
};

async function startBot(): Promise<CliProcess> {
  const b = new CliProcess(['bot'], env.botEnv);
  await b.waitFor(/"msg":"Discord ready"/, { stream: 'stderr', timeoutMs: 30_000 });
  return b;
}

beforeAll(async () => {
  env = await startDiscordLab({
    hosts: { 'gpu-1': { gpu: { enabled: false }, alerts: { workerOffline: { for: '1s', repeatEvery: '3s' } }, models: {} } },
  });
  bot = await startBot();
  worker = await startWorkerProcess(env.lab);
}, 90_000);

afterAll(async () => {
  await bot?.stop();
  await worker?.stop();
  await env?.close();
  redis.disconnect();
});

describe('worker offline, acknowledged and silenced from Discord', () => {
  let messageId: string;

  it('fires from the bot side when the worker is killed, with its buttons; repeats edit the same message', async () => {
    const killed = Date.now();
    await worker!.stop('SIGKILL');
    worker = null;
    const firing = await env.fake.waitFor((c) => isAlertWrite(c) && /^gpu-1 worker offline for \d+ s: last heartbeat \d+ s ago$/.test(c.body?.embeds?.[0]?.title ?? ''), 20_000);
    // three missed 1 s beats, then `for` (1 s), at the bot's 1 s pace; then the queue and the fake's REST
    expect(firing.time - killed).toBeLessThan(3_000 + 1_000 + 2_000 + 4_000);
    expect(firing.method).toBe('POST');
    messageId = firing.response.id;
    expect(buttons(env.fake.message(messageId)).map((b) => b.label)).toEqual(['Acknowledge', 'Silence 1 h', 'Silence 8 h']);
    expect(firing.body.allowed_mentions).toEqual({ parse: [] });
    // a repeat (every 3 s) edits it
    await env.fake.waitFor((c) => c.seq > firing.seq && isAlertWrite(c) && c.method === 'PATCH' && c.params.message === messageId && /still offline/.test(c.body?.embeds?.[0]?.title ?? ''), 15_000);
  }, 60_000);

  it('Acknowledge: a viewer is refused; an operator is named on the message, the button goes, the repeats stop; audited', async () => {
    const ackId = button(env.fake.message(messageId), 'Acknowledge');
    expect(ackId).toMatch(/^ack:run:[\w-]{16}$/);
    const alice = env.fake.pressButton({ customId: ackId, user: 'alice', message: messageId });
    expect(await alice.waitForCallback()).toMatchObject({ body: { type: 5, data: { flags: EPHEMERAL } } });
    expect((await alice.waitForEdit((c) => c.status === 200)).message.embeds[0].title).toBe('Your role (viewer) may not run /ack: it needs operator.');

    const mark = env.fake.mark();
    const olga = env.fake.pressButton({ customId: ackId, user: 'olga', message: messageId });
    const answer = await olga.waitForEdit((c) => c.status === 200);
    expect(answer.message.embeds[0].title).toMatch(new RegExp(`^Acknowledged ${KEY} \\(firing for \\d+ s\\): its repeats stop; the resolve is still posted\\.$`));
    const acked = await env.fake.waitFor((c) => c.seq > mark && isAlertWrite(c) && c.params.message === messageId && /Acknowledged by @olga/.test(c.body?.embeds?.[0]?.description ?? ''), 10_000);
    expect(buttons(env.fake.message(messageId)).map((b) => b.label)).toEqual(['Silence 1 h', 'Silence 8 h']);

    // a repeat happens in the state machine after the acknowledgement, and edits nothing
    const ackedAt = acked.time;
    await waitFor(async () => Number((await alertState()).lastNotifiedAt) > ackedAt, 15_000, 'a repeat after the acknowledgement');
    expect(env.fake.calls.filter((c) => c.seq > acked.seq && isAlertWrite(c) && c.params.message === messageId)).toEqual([]);

    const rows = (await auditRows(env.lab)).filter((r) => r.command === 'ack');
    expect(rows.map((r) => [r.actor_name, r.role, r.outcome, (r.args as { key: string }).key])).toEqual([
      ['alice', 'viewer', 'denied', KEY],
      ['olga', 'operator', 'ok', KEY],
    ]);
  }, 60_000);

  it('Silence 1 h survives a bot restart; the alert resolves silently; Unsilence posts its state once', async () => {
    const mark = env.fake.mark();
    const press = env.fake.pressButton({ customId: button(env.fake.message(messageId), 'Silence 1 h'), user: 'olga', message: messageId });
    expect((await press.waitForEdit((c) => c.status === 200)).message.embeds[0].title).toMatch(new RegExp(`^Silenced ${KEY} for 1 h, until `));
    await env.fake.waitFor((c) => c.seq > mark && isAlertWrite(c) && c.params.message === messageId && /Silenced by @olga until .* \(1 h left\)/.test(c.body?.embeds?.[0]?.description ?? ''), 10_000);
    expect(buttons(env.fake.message(messageId)).map((b) => b.label)).toEqual(['Unsilence']);

    await bot.stop();
    bot = await startBot();

    // the worker comes back: the alert resolves, and nothing is posted while it is silenced
    worker = await startWorkerProcess(env.lab);
    const quiet = env.fake.mark();
    await waitFor(async () => (await alertState()).status === 'resolved', 20_000, 'the alert to resolve');
    const listed = await exec('/alerts', 'viewer');
    expect(listed).toMatchObject({ code: 0, title: 'Alerts: 0 firing, 0 pending, 1 silenced' });
    expect(listed.data.alerts).toEqual([expect.objectContaining({ key: KEY, status: 'resolved', silenced: { by: 'olga', until: expect.any(Number) } })]);
    expect(env.fake.calls.filter((c) => c.seq > quiet && isAlertWrite(c))).toEqual([]);

    // the button still works after the restart (its action lives in Redis)
    const lift = env.fake.pressButton({ customId: button(env.fake.message(messageId), 'Unsilence'), user: 'olga', message: messageId });
    expect((await lift.waitForEdit((c) => c.status === 200)).message.embeds[0].title).toBe(`Silence of ${KEY} lifted; its current state is posted.`);
    const back = await env.fake.waitFor((c) => c.seq > quiet && isAlertWrite(c) && c.params.message === messageId, 10_000);
    expect(back.body.embeds[0].title).toMatch(/^gpu-1 worker is back after \d+ s offline$/);
    expect(back.body.embeds[0].description).toMatch(/^Acknowledged by @olga/);
    expect(buttons(env.fake.message(messageId))).toEqual([]);
    // one alert message from first to last (the other messages there are the answers to the presses)
    expect(env.fake.calls.filter((c) => isAlertWrite(c) && c.method === 'POST').map((c) => c.response.id)).toEqual([messageId]);

    const rows = (await auditRows(env.lab)).filter((r) => r.command === 'silence');
    expect(rows.map((r) => [r.actor_name, r.outcome, r.args])).toEqual([
      ['olga', 'ok', { key: KEY, for: '1h' }],
      ['olga', 'ok', { key: KEY, for: 'off' }],
    ]);
  }, 120_000);

  it('/silence and /alerts through exec --json, and the key autocompletes from the store', async () => {
    const ac = env.fake.autocomplete({ name: 'silence', user: 'olga', channel: 'ops', focused: 'key', value: 'worker' });
    expect((await ac.waitForCallback()).body.data.choices).toEqual([{ name: `${KEY} · resolved`, value: KEY }]);

    const mark = env.fake.mark();
    const set = await exec(`/silence key:${KEY} for:2h`, 'operator');
    expect(set).toMatchObject({ code: 0, outcome: 'ok', data: { key: KEY, silenced: { by: expect.any(String), until: expect.any(Number) } } });
    expect(await exec(`/silence key:${KEY} for:2h`, 'viewer')).toMatchObject({ code: 2, outcome: 'denied' });
    expect(await exec(`/alerts`, 'viewer')).toMatchObject({ code: 0, data: { alerts: [expect.objectContaining({ key: KEY, silenced: expect.objectContaining({ until: expect.any(Number) }) })] } });
    // the message says it is silenced (an edit, through the notify queue)
    await env.fake.waitFor((c) => c.seq > mark && isAlertWrite(c) && c.params.message === messageId && /Silenced by @/.test(c.body?.embeds?.[0]?.description ?? ''), 10_000);
    expect(await exec(`/silence key:${KEY} off`, 'operator')).toMatchObject({ code: 0, title: `Silence of ${KEY} lifted; its current state is posted.` });
    expect(await exec(`/alerts`, 'viewer')).toMatchObject({ code: 0, title: 'No alert is firing, pending or silenced' });
    expect(await exec(`/ack key:${KEY}`, 'operator')).toMatchObject({ code: 1, outcome: 'failed', title: `${KEY} is not firing (it is resolved): nothing to acknowledge.` });
  }, 60_000);
});
