/**
 * The whole alert path with real processes: the worker's long-lived nvidia-smi sampler (the
 * stand-in, steered through its state file) → the VRAM rule → the durable notify queue → the
 * bot → the alert channel of the fake Discord, one message edited as the alert moves on.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, startWorkerProcess } from './support/cli.js';
import { IDS, startDiscordLab, type DiscordLab } from './support/discord-lab.js';
import { ROOT } from './support/env.js';

let env: DiscordLab;
let worker: CliProcess;
let bot: CliProcess;
let state: string;

const setUsed = (usedMiB: number) => writeFileSync(state, JSON.stringify({ mode: 'ok', profile: 'idle', usedMiB }));

beforeAll(async () => {
  env = await startDiscordLab({
    hosts: {
      'gpu-1': {
        gpu: { sampleInterval: '250ms' },
        alerts: { vramHighPercent: 90, vramResolvePercent: 80, for: '1s' },
        models: {},
      },
    },
  });
  state = join(env.lab.dir, 'gpu.json');
  setUsed(10_000);
  env.lab.link('nvidia-smi', join(ROOT, 'test/support/fake-nvidia-smi'));
  worker = await startWorkerProcess(env.lab, 'gpu-1', { FAKE_NVIDIA_SMI_STATE: state });
  bot = new CliProcess(['bot'], env.botEnv);
  await bot.waitFor(/"msg":"Discord ready"/, { stream: 'stderr', timeoutMs: 20_000 });
});

afterAll(async () => {
  await bot?.stop();
  await worker?.stop();
  await env?.close();
});

const alertPosts = () => env.fake.calls.filter((c) => c.params.channel === IDS.channels.alerts && c.status === 200 && (c.method === 'POST' || c.method === 'PATCH'));

describe('a VRAM alert from the worker to the alert channel', () => {
  it('fires within for + 2 × interval (plus delivery), one message edited through to resolved, nothing pinged', async () => {
    const crossed = Date.now();
    setUsed(78_000); // 95.6 % of 81,559 MiB
    const firing = await env.fake.waitFor((c) => c.params.channel === IDS.channels.alerts && c.status === 200 && /for \d/.test(c.body?.embeds?.[0]?.title ?? ''), 10_000);
    expect(firing.body.embeds[0].title).toMatch(/^gpu-1 GPU 0 VRAM 96 % \(78,000 \/ 81,559 MiB\) for \d+ s$/);
    // budget: for (1 s) + 2 × 250 ms; the rest is the queue and the fake's REST, on a loaded 2-core machine
    expect(firing.time - crossed).toBeLessThan(1_000 + 500 + 2_500);
    expect(firing.body.allowed_mentions).toEqual({ parse: [] });

    setUsed(20_000);
    const resolved = await env.fake.waitFor((c) => c.seq > firing.seq && c.params.channel === IDS.channels.alerts && c.status === 200 && /back to/.test(c.body?.embeds?.[0]?.title ?? ''), 10_000);
    expect(resolved.body.embeds[0].title).toMatch(/^gpu-1 GPU 0 VRAM back to 25 % /);

    // pending, firing and resolved are one message: a POST, then edits of it
    const writes = alertPosts();
    expect(writes.filter((c) => c.method === 'POST')).toHaveLength(1);
    const id = writes.find((c) => c.method === 'POST')!.response.id;
    expect(writes.filter((c) => c.method === 'PATCH').every((c) => c.params.message === id)).toBe(true);
    expect(env.fake.messages('alerts')).toHaveLength(1);
  });
});
