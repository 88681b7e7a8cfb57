/**
 * `/vram [host]` as a user meets it: through `labops exec` (numbers, sparklines, `--out` writes the
 * chart as a PNG) and through the fake Discord (the chart arrives as a multipart attachment shown as
 * the embed's image), from a history and live state written by the real writers.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../commands/index.js';
import type { RunningChat } from '../src/bot/chat.js';
import { createBotContext, type OwnedBotContext } from '../src/bot/context.js';
import { startDiscord } from '../src/chat/discord/bot.js';
import { loadConfig } from '../src/config/load.js';
import { LiveStateWriter } from '../src/state/live-state.js';
import { recordModelEvent, writeSamples } from '../src/state/vram-history.js';
import { Downsampler } from '../src/worker/vram/downsample.js';
import { runCli } from './support/cli.js';
import { startDiscordLab, type DiscordLab } from './support/discord-lab.js';
import { REDIS_URL } from './support/env.js';

const MIN = 60_000;
const HERMES = 'chat-hermes-3-llama-3.1-8b';
const GPU = { index: 0, uuid: 'GPU-5f0a', name: 'NVIDIA H100 80GB HBM3', totalMiB: 81_559 };
const JOB_KEY = 'vram-test-job-key-0123456789-abcdefghij';
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let env: DiscordLab;
let redis: Redis;
/** when the history was seeded: the hour /vram draws ends when it runs, a minute later on a loaded machine */
let seededAt = 0;

/** The last hour of gpu-1: Hermes from 40 min ago (20,000 MiB), 3,000 MiB of an unknown python3 throughout. */
async function seed(prefix: string, now: number): Promise<void> {
  const d = new Downsampler();
  for (let t = now - 60 * MIN; t <= now; t += t < now - 10 * MIN ? 20_000 : 1_000) {
    const byModel: Record<string, number> = t >= now - 40 * MIN ? { [HERMES]: 20_000 } : {};
    const out = d.push(t, [{ index: 0, sample: { usedMiB: 3_000 + (byModel[HERMES] ?? 0), byModel } }]);
    if (out.fine.size || out.coarse.size) await writeSamples(redis, prefix, 'gpu-1', { gpus: [GPU], ...out });
  }
  await recordModelEvent(redis, prefix, 'gpu-1', { t: now - 40 * MIN, model: HERMES, kind: 'start', by: 'olga' });
  const live = new LiveStateWriter(redis, prefix, 'gpu-1');
  await live.gpus({ at: now, snapshot: { available: true, at: now, gpus: [{ ...GPU, usedMiB: 23_000, freeMiB: GPU.totalMiB - 23_000, utilPct: 41, tempC: 50, powerW: 300 }] } });
  await live.processes({
    at: now,
    processes: [
      { pid: 4242, name: 'llama-server', user: 'lab', usedMiB: 20_000, gpuUuid: GPU.uuid, model: HERMES },
      { pid: 777, name: 'python3', user: 'bob', usedMiB: 3_000, gpuUuid: GPU.uuid, model: null },
    ],
  });
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  env = await startDiscordLab({ hosts: { 'gpu-1': twoModelHost(), 'gpu-2': { models: {} } } });
  seededAt = Date.now();
  await seed(env.lab.prefix, seededAt);
}, 120_000);

afterAll(async () => {
  await env?.close();
  redis?.disconnect();
});

function twoModelHost() {
  return {
    models: {
      [HERMES]: { aliases: ['chat-hermes'], type: 'chat', engine: { kind: 'systemd', unit: 'hermes.service' }, vramMiB: 20_000 },
    },
    alerts: { vramHigh: { percent: 90, resolvePercent: 80 } },
  };
}

describe('/vram through exec', () => {
  it('prints the numbers per GPU and per process, and the last hour as a sparkline; --out writes the PNG', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'labops-vram-')), 'chart.png');
    const result = await runCli(['exec', '/vram host:gpu-1', '--as', 'viewer', '--out', out], { ...env.lab.env, LABOPS_JOB_KEY: JOB_KEY }, { timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('ℹ VRAM of gpu-1');
    expect(result.stdout).toMatch(/GPU 0 · H100 80GB HBM3: ▓▓▓░░░░░░░ 23,000 \/ 81,559 MiB \(28 %\) · util 41 %/);
    expect(result.stdout).toContain('unknown 3,000 MiB · alert at 90 %');
    expect(lines.find((l) => l.startsWith('0 ') && l.includes(HERMES))).toMatch(/4242\s+lab\s+20,000$/);
    expect(lines.find((l) => l.includes('unknown (python3)'))).toMatch(/777\s+bob\s+3,000$/);
    // 60 one-minute buckets: 28 % full: ▃ (Hermes' 20,000 on top of 3,000) for the last 40 of them
    const spark = lines.find((l) => l.startsWith('GPU 0 H100 80GB HBM3 '))!;
    const blocks = [...spark.slice('GPU 0 H100 80GB HBM3 '.length)].slice(0, 60);
    const lag = Math.ceil((Date.now() - seededAt) / 60_000);
    expect(blocks.join('')).toMatch(new RegExp(`^▁{${19 - lag},21}▃{39,${41 + lag}}$`));
    expect(result.stdout).toContain(`${HERMES} 20,000 MiB · unknown 3,000 MiB`);
    expect(result.stderr).toContain(`wrote ${out}`);
    const png = readFileSync(out);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1000, expect.any(Number)]);
  });

  it('says so for a host without data, and --out then writes nothing and exits 1', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'labops-vram-')), 'none.png');
    const result = await runCli(['exec', '/vram host:gpu-2', '--as', 'viewer', '--out', out], { ...env.lab.env, LABOPS_JOB_KEY: JOB_KEY }, { timeoutMs: 30_000 });
    expect(result.stdout).toContain('No VRAM data from gpu-2 yet');
    expect(result.stderr).toContain('this reply has no file to write');
    expect(result.code).toBe(1);
    expect(() => readFileSync(out)).toThrow();
  });
});

describe('/vram through Discord', () => {
  let ctx: OwnedBotContext;
  let chat: RunningChat;
  beforeAll(async () => {
    const { config } = loadConfig(env.lab.configFile, { ...env.botEnv, LABOPS_JOB_KEY: JOB_KEY });
    ctx = await createBotContext(config, pino({ level: 'silent' }), commands);
    chat = await startDiscord(ctx, pino({ level: 'silent' }), { sweepIntervalMs: 200, drainMs: 2_000 });
  });
  afterAll(async () => {
    await chat?.close();
    await ctx?.close();
  });

  it('attaches the chart as a PNG in a multipart body, shown as the embed image', async () => {
    const cmd = env.fake.slashCommand({ name: 'vram', user: 'alice', channel: 'ops', options: { host: 'gpu-1' } });
    const edit = await cmd.waitForEdit((c) => c.status === 200 && c.files.length > 0, 30_000);
    expect(edit.headers.contentType).toMatch(/^multipart\/form-data/);
    expect(edit.files.map((f) => ({ field: f.field, name: f.name, contentType: f.contentType }))).toEqual([{ field: 'files[0]', name: 'vram-gpu-1.png', contentType: 'image/png' }]);
    expect([...edit.files[0]!.data.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    const embed = edit.message.embeds[0];
    expect(embed.title).toBe('VRAM of gpu-1');
    expect(embed.image).toEqual({ url: 'attachment://vram-gpu-1.png' });
    expect(embed.fields[0].name).toBe('GPU 0 · H100 80GB HBM3');
    expect(embed.description).toContain('unknown (python3)');
    // the sparkline is the text form: Discord shows the image instead
    expect(JSON.stringify(edit.message)).not.toContain('▁▁▁');
    expect(cmd.original().attachments[0]).toMatchObject({ filename: 'vram-gpu-1.png' });
    const stored = cmd.original();
    expect(stored.attachments[0].size).toBe(edit.files[0]!.data.length);
    expect(stored.attachments[0]).toMatchObject({ content_type: 'image/png', width: 1000 });
    // as on Discord, the embed's image is the uploaded file
    expect(stored.embeds[0].image).toEqual({ url: stored.attachments[0].url, proxy_url: stored.attachments[0].proxy_url, width: 1000, height: stored.attachments[0].height });
    // the bot's metrics saw the acknowledgement and the command
    expect(await ctx.metrics.registry.getSingleMetricAsString('labops_ack_latency_seconds')).toMatch(/^labops_ack_latency_seconds_count 1$/m);
    expect(await ctx.metrics.registry.getSingleMetricAsString('labops_commands_total')).toContain('labops_commands_total{command="vram",outcome="ok",adapter="discord"} 1');
  });
});
