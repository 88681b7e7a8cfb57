import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { smokeReply } from '../src/bot/proxy/smoke-reply.js';
import { withLastSmoke } from '../src/bot/status/last-smoke.js';
import { renderText } from '../src/chat/render-text.js';
import { renderReply } from '../src/chat/discord/render.js';
import { doctorReply } from '../src/bot/proxy/doctor-reply.js';
import { checkMessage } from './support/fake-discord/validate.js';
import { Inventory } from '../src/config/inventory.js';
import { parseConfig } from '../src/config/load.js';
import { smokeTargets, type SmokeResult, type SmokeRow } from '../src/contracts/smoke.js';
import { mapLimit } from '../src/core/map-limit.js';
import { info } from '../src/core/reply.js';
import type { ModelInfoEntry } from '../src/litellm/client.js';
import { readSmokeResults, saveSmokeResults, smokeResultsKey } from '../src/state/smoke-results.js';
import { smokeAlertReply } from '../src/worker/alerts/smoke-reply.js';
import { deploymentName } from '../src/worker/smoke/served-by.js';
import { TINY_PNG_DATA_URL } from '../src/worker/smoke/tiny-image.js';
import { REDIS_URL, uniqueName } from './support/env.js';

const config = parseConfig(
  `
litellm:
  host: gpu-1
  groups:
    chat-default: { servedBy: chat-hermes-3-llama-3.1-8b, fallbacks: [qwen3-coder-480b-cloud] }
    qwen3-coder-480b-cloud: { cloud: true }
    embed-default: { servedBy: embeddings-default }
hosts:
  gpu-1:
    models:
      litellm: { type: proxy, engine: { kind: systemd, unit: litellm.service } }
      chat-hermes-3-llama-3.1-8b:
        type: chat
        aliases: [chat-hermes]
        engine: { kind: script, start: s.sh, pidFile: p }
        health: { url: "http://127.0.0.1:8080/health" }
      chat-mistral-7b-ollama: { type: chat, engine: { kind: ollama, url: "http://127.0.0.1:11434", model: "mistral:7b" } }
      vision-qwen3-vl-4b-ollama: { type: vision, engine: { kind: ollama, url: "http://127.0.0.1:11434", model: "qwen3-vl:4b" } }
      rerank-x: { type: rerank, engine: { kind: systemd, unit: r.service } }
  gpu-2:
    models:
      embeddings-default: { type: embeddings, litellmName: embeddings-arctic-embed-m, engine: { kind: systemd, unit: e.service } }
`,
  'labops.yaml',
  {},
);
const inventory = new Inventory(config);
const names = (payload: Parameters<typeof smokeTargets>[2]) => smokeTargets(config, inventory, payload).map((t) => `${t.kind}:${t.name}@${t.host}→${t.requested}/${t.type ?? '?'}`);

describe('what a smoke asks', () => {
  it('every model of a smoke type and every proxy group, by its LiteLLM name', () => {
    expect(names({})).toEqual([
      'model:chat-hermes-3-llama-3.1-8b@gpu-1→chat-hermes-3-llama-3.1-8b/chat',
      'model:chat-mistral-7b-ollama@gpu-1→chat-mistral-7b-ollama/chat',
      'model:vision-qwen3-vl-4b-ollama@gpu-1→vision-qwen3-vl-4b-ollama/vision',
      'model:embeddings-default@gpu-2→embeddings-arctic-embed-m/embeddings',
      'group:chat-default@gpu-1→chat-default/chat',
      'group:qwen3-coder-480b-cloud@gpu-1→qwen3-coder-480b-cloud/?',
      'group:embed-default@gpu-2→embed-default/embeddings',
    ]);
  });

  it('one model with the groups it serves; one group; one host', () => {
    expect(names({ only: { kind: 'model', host: 'gpu-1', name: 'chat-hermes-3-llama-3.1-8b' } })).toEqual([
      'model:chat-hermes-3-llama-3.1-8b@gpu-1→chat-hermes-3-llama-3.1-8b/chat',
      'group:chat-default@gpu-1→chat-default/chat',
    ]);
    expect(names({ only: { kind: 'group', name: 'qwen3-coder-480b-cloud' } })).toEqual(['group:qwen3-coder-480b-cloud@gpu-1→qwen3-coder-480b-cloud/?']);
    expect(names({ host: 'gpu-2' })).toEqual(['model:embeddings-default@gpu-2→embeddings-arctic-embed-m/embeddings', 'group:embed-default@gpu-2→embed-default/embeddings']);
    expect(names({ only: { kind: 'model', host: 'gpu-1', name: 'litellm' } })).toEqual([]);
    expect(smokeTargets(config, inventory, { only: { kind: 'model', host: 'gpu-1', name: 'chat-mistral-7b-ollama' } })[0]!.explicit).toBe(true);
  });

  it('has a real PNG for vision models', () => {
    const png = Buffer.from(TINY_PNG_DATA_URL.split(',')[1]!, 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([32, 32]);
  });
});

describe('which deployment answered', () => {
  const entry = (modelName: string, id: string, params: Record<string, unknown>): ModelInfoEntry => ({ modelName, id, dbModel: false, litellmParams: params, modelInfo: {} });
  const deployments = [
    entry('chat-default', 'chat-default-hermes', { model: 'openai/hermes', api_base: 'http://localhost:8080/v1' }),
    entry('qwen3-coder-480b-cloud', 'cloud-1', { model: 'openrouter/qwen/qwen3-coder' }),
    entry('chat-mistral-7b-ollama', 'db-1', { model: 'ollama_chat/mistral:7b' }),
    entry('ollama-qwen-vl', 'o-2', { model: 'ollama_chat/qwen3-vl:4b', api_base: 'http://127.0.0.1:11434' }),
    entry('embeddings-arctic-embed-m', 'e-1', { model: 'openai/arctic' }),
  ];
  it('maps x-litellm-model-id to the inventory model, else to its LiteLLM name', () => {
    expect(deploymentName('chat-default-hermes', deployments, inventory)).toBe('chat-hermes-3-llama-3.1-8b'); // same server as its health URL
    expect(deploymentName('cloud-1', deployments, inventory)).toBe('qwen3-coder-480b-cloud');
    expect(deploymentName('db-1', deployments, inventory)).toBe('chat-mistral-7b-ollama');
    expect(deploymentName('o-2', deployments, inventory)).toBe('vision-qwen3-vl-4b-ollama'); // Ollama: URL and tag
    expect(deploymentName('e-1', deployments, inventory)).toBe('embeddings-default'); // through litellmName
    expect(deploymentName('unknown-id', deployments, inventory)).toBe('unknown-id');
    expect(deploymentName(undefined, deployments, inventory)).toBeNull();
  });
});

const row = (over: Partial<SmokeRow>): SmokeRow => ({ model: 'm', kind: 'model', host: 'gpu-1', requested: over.model ?? 'm', type: 'chat', ok: true, status: 200, latencyMs: 123.4, servedBy: 'm', servedById: 'id', fallback: false, note: null, error: null, at: Date.now(), ...over });

describe('/smoke\'s answer', () => {
  const result = (rows: SmokeRow[], extra: Partial<SmokeResult> = {}): SmokeResult => ({ host: 'gpu-1', proxy: 'http://127.0.0.1:4000', results: rows, skipped: [], proxyProblem: null, concurrency: 32, maxInFlight: 2, elapsedMs: 300, ...extra });

  it('a table, then each failure\'s error text; a failure makes it fail', () => {
    const reply = smokeReply(
      result(
        [
          row({ model: 'chat-default', kind: 'group', servedBy: 'qwen3-coder-480b-cloud', fallback: true, note: 'fallback: local chat-hermes is stopped' }),
          row({ model: 'chat-hermes', ok: null, status: null, latencyMs: null, servedBy: null, note: 'stopped: not tested (/start it, or /smoke start:true)' }),
          row({ model: 'chat-mistral', ok: false, status: 500, servedBy: null, error: 'litellm.BadRequestError: LLM Provider NOT provided' }),
        ],
        { skipped: [{ model: 'embeddings-default', host: 'gpu-1', reason: 'not in /v1/models as embeddings-default' }] },
      ),
    );
    expect(reply).toMatchObject({ outcome: 'failed', title: 'Smoke: 1 of 2 failed; 1 stopped, not tested' });
    expect(renderText(reply)).toMatch(
      /chat-default +chat +✔ ok +200 +123 ms +qwen3-coder-480b-cloud \(fallback\) +fallback: local chat-hermes is stopped\nchat-hermes +chat +– stopped +– +– +– +stopped: not tested/,
    );
    expect(renderText(reply)).toContain('── Failures (1) ──\n✖ chat-mistral: litellm.BadRequestError: LLM Provider NOT provided');
    expect(renderText(reply)).toContain('Not tested, not served by the proxy: embeddings-default (not in /v1/models as embeddings-default)\n2 requests through http://127.0.0.1:4000 in 300 ms, at most 2 at once (limit 32).');
    expect(smokeReply(result([row({})]))).toMatchObject({ outcome: 'ok', tone: 'ok', title: 'Smoke: 1 of 1 answered' });
    expect(smokeReply(result([row({ fallback: true })]))).toMatchObject({ outcome: 'ok', tone: 'warn' });
    expect(smokeReply(result([row({ ok: false, error: 'down' })], { proxyProblem: 'LiteLLM at http://x: connection refused' }))).toMatchObject({ outcome: 'failed', title: 'Smoke: the proxy could not be asked — LiteLLM at http://x: connection refused' });
  });

  it('in Discord: a table embed, the failures in their own, within Discord\'s limits; /doctor\'s sections by severity with its buttons', () => {
    const smoke = renderReply(smokeReply(result([row({ model: 'chat-default' }), row({ model: 'chat-mistral', ok: false, status: 500, error: 'LLM Provider NOT provided' })])), { fileName: 'smoke' });
    expect(smoke.body.embeds.map((e) => e.title)).toEqual(['Smoke: 1 of 2 failed', 'Failures (1)']);
    expect(smoke.body.embeds[0]!.description).toMatch(/^```\nmodel +type +result/);
    expect(checkMessage(smoke.body, { prefix: '', create: true, fileCount: 0 })).toBeNull();
    const findings = [
      { check: 'provider-unreadable' as const, subject: 'chat-x', severity: 'error' as const, message: 'm', repair: '/repair kind:encrypted-providers', checked: true, host: 'gpu-1' },
      { check: 'boot-services' as const, subject: 'e.service', severity: 'warning' as const, message: 'm', repair: '/repair kind:boot-services host:gpu-1', checked: true, host: 'gpu-1' },
    ];
    const doctor = doctorReply(findings, [{ host: 'gpu-1', result: null, problem: null }], ['gpu-1']);
    const msg = renderReply(doctor, { fileName: 'doctor', buttons: (doctor.actions ?? []).map((a, i) => ({ customId: `repair:run:${i}`, label: a.label })) });
    expect(msg.body.embeds.map((e) => e.title)).toEqual(['Doctor on gpu-1: 1 error, 1 warning', 'Errors (1)', 'Warnings (1)']);
    expect(JSON.stringify(msg.body.components)).toContain('Repair boot-services on gpu-1');
    expect(checkMessage(msg.body, { prefix: '', create: true, fileCount: 0 })).toBeNull();
  });

  it('the alert, firing then resolved', () => {
    const firing = smokeAlertReply({ key: 'gpu-1:chat-mistral:smoke', host: 'gpu-1', subject: { kind: 'row', row: row({ model: 'chat-mistral', ok: false, status: 500, error: 'LLM Provider NOT provided' }) }, state: { status: 'firing', pendingSince: 0, firingSince: 0, resolvedAt: null, lastNotifiedAt: 0 }, transition: 'firing', now: 0 });
    expect(firing).toMatchObject({ tone: 'error', title: 'Smoke of chat-mistral failed on gpu-1 (500): LLM Provider NOT provided', hint: expect.stringContaining('/smoke model:chat-mistral'), data: { kind: 'smoke', subject: 'chat-mistral', transition: 'firing' } });
    const resolved = smokeAlertReply({ key: 'k', host: 'gpu-1', subject: { kind: 'row', row: row({ model: 'chat-mistral', latencyMs: 80 }) }, state: { status: 'resolved', pendingSince: 0, firingSince: 0, resolvedAt: 120_000, lastNotifiedAt: 0 }, transition: 'resolved', now: 120_000 });
    expect(resolved).toMatchObject({ tone: 'ok', title: 'Smoke of chat-mistral on gpu-1 answers again in 80 ms (after 2 min failing)' });
  });
});

describe('the last smoke per model, in Redis', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = uniqueName('smoke');
  afterAll(async () => {
    await redis.del(smokeResultsKey(prefix));
    redis.disconnect();
  });

  it('keeps tested rows, not untested ones; reads back only what parses', async () => {
    await saveSmokeResults(redis, prefix, [row({ model: 'a', at: 1_000 })]);
    await saveSmokeResults(redis, prefix, [row({ model: 'a', ok: null, at: 2_000 }), row({ model: 'b', ok: false, error: 'x' })]);
    await redis.hset(smokeResultsKey(prefix), 'gpu-1/c', '{"model":"c"}', 'gpu-1/d', 'not json');
    const rows = await readSmokeResults(redis, prefix);
    expect([...rows.keys()].sort()).toEqual(['gpu-1/a', 'gpu-1/b']);
    expect(rows.get('gpu-1/a')).toMatchObject({ ok: true, at: 1_000 });
  });

  it('adds them to /status and /models with their age', async () => {
    const reply = await withLastSmoke({ redis, prefix }, ['gpu-1'], info('Status of gpu-1', [], { data: { hosts: [] } }), 61_000);
    expect(reply.data).toMatchObject({ hosts: [], lastSmoke: [expect.objectContaining({ model: 'a' }), expect.objectContaining({ model: 'b' })] });
    expect(renderText(reply)).toMatch(/Last smoke:\nmodel +host +last smoke +answered by +when\n[─ ]+\na +gpu-1 +ok 123 ms +m +1 min ago\n/);
    expect(await withLastSmoke({ redis, prefix }, ['gpu-9'], info('x'))).toEqual(info('x'));
  });
});

describe('a few at a time', () => {
  it('never runs more than the limit at once, and starts the next as soon as one ends', async () => {
    let inFlight = 0;
    let most = 0;
    const t0 = Date.now();
    const out = await mapLimit([30, 10, 10, 10, 10], 2, async (ms, i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      return i;
    });
    expect(out).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
    expect(Date.now() - t0).toBeLessThan(70);
  });
});
