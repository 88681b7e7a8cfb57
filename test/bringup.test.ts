import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ROOT } from './support/env.js';
import { startWorkerProcess, type CliProcess } from './support/cli.js';
import { freePort, httpStatus, MODEL_SERVER, writeScript } from './support/engines-helpers.js';
import type { ExecJson } from './support/lifecycle-lab.js';
import { createProxyLab, encryptParams, EMBEDDER, HERMES, type ProxyLab } from './support/proxy-lab.js';

const SALT = 'sk-bringup-salt-key-3c7e91a04f';
const OTHER_SALT = 'sk-bringup-rotated-salt-9d2b';
const PROXY_UNIT = 'labops-test-litellm.service';
const STAND_IN = join(ROOT, 'dist', 'src', 'demo', 'litellm-stand-in-main.js');
/** a model of the second host: /bringup has its own worker start it */
const REMOTE = 'chat-remote-qwen-vllm';
const JOB_KEY = 'bringup-test-job-key-0123456789abcdef';

const configYaml = ({ hermesBase, embedderBase }: { hermesBase: string; embedderBase: string }) => `# gpu-1's proxy after a reboot
model_list:
  - model_name: chat-default
    litellm_params: { model: openai/hermes-3-llama-3.1-8b, api_base: ${hermesBase}, timeout: 120, rpm: 30 }
    model_info: { id: chat-default-hermes, mode: chat }
  - model_name: ${HERMES}
    litellm_params: { model: openai/hermes-3-llama-3.1-8b, api_base: ${hermesBase}, timeout: 120, rpm: 30 }
  - model_name: ${EMBEDDER}
    litellm_params: { model: openai/snowflake-arctic-embed-m, api_base: ${embedderBase}, timeout: 120, rpm: 60 }
    model_info: { mode: embedding }
  - model_name: qwen3-coder-480b-cloud
    litellm_params: { model: openrouter/qwen/qwen3-coder, api_key: os.environ/OPENROUTER_API_KEY }
router_settings:
  fallbacks: [{"chat-default": ["qwen3-coder-480b-cloud"]}]
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  store_model_in_db: true
`;

type BringupJson = ExecJson & {
  data: {
    proxy: { model: string | null; before: string | null; started: boolean; live: boolean; ready: boolean; db: string | null };
    doctor: { findings: { check: string; subject: string; repair: string | null }[] } | null;
    starts: { model: string; host: string; status: string; ok: boolean }[];
    smoke: { results: { model: string; ok: boolean | null; servedBy: string | null; fallback: boolean }[] } | null;
    problems: string[];
  };
};

/**
 * /bringup on the proxy lab, with the proxy itself a systemd user unit (the fake systemd runs the
 * LiteLLM stand-in as its process) that is down at the start, as after a reboot.
 */
describe('/bringup', () => {
  let lab: ProxyLab;
  let gpu2: CliProcess | undefined;
  let remotePort: number;
  const outputs: string[] = [];

  beforeAll(async () => {
    lab = await createProxyLab({ saltKey: SALT, configYaml });
    // the proxy: a unit, not the in-process stand-in
    const port = lab.proxy.port;
    await lab.proxy.close();
    writeFileSync(
      join(lab.env.XDG_CONFIG_HOME!, 'systemd', 'user', PROXY_UNIT),
      [
        '[Unit]',
        'Description=LiteLLM stand-in of the bringup test',
        '[Service]',
        'Type=simple',
        `Environment=LITELLM_MASTER_KEY=${lab.litellmEnv.LITELLM_MASTER_KEY}`,
        `Environment=LITELLM_SALT_KEY=${SALT}`,
        `ExecStart=${[process.execPath, STAND_IN, '--port', String(port), '--config', lab.configPath, '--database-url', lab.db.url, '--tag', lab.tag].join(' ')}`,
        'TimeoutStopSec=5',
        '',
      ].join('\n'),
    );
    const gpu = (lab.config.hosts as Record<string, { models: Record<string, unknown> }>)['gpu-1']!;
    // a second host, whose worker starts its own models (two hosts: jobs are signed)
    remotePort = await freePort();
    writeScript(join(lab.dir, 'bin', 'start-remote.sh'), `#!/bin/sh\nexec "${process.execPath}" "${MODEL_SERVER}" --port ${remotePort} --model-id ${REMOTE} --labops-tag ${lab.tag}\n`);
    (lab.config.hosts as Record<string, unknown>)['gpu-2'] = {
      modelDir: lab.dir,
      gpu: { enabled: false },
      models: { [REMOTE]: { type: 'chat', engine: { kind: 'script', cwd: lab.dir, start: 'bin/start-remote.sh', pidFile: 'run/remote.pid' }, health: { url: `http://127.0.0.1:${remotePort}/health`, startTimeout: '10s' } } },
    };
    lab.env.LABOPS_JOB_KEY = JOB_KEY;
    gpu.models.litellm = { type: 'proxy', engine: { kind: 'systemd', unit: PROXY_UNIT }, health: { url: `${lab.proxy.url}/health/liveliness`, startTimeout: '20s', timeout: '1s' }, pinned: true };
    writeFileSync(lab.configFile, stringify(lab.config));

    // the incident: a provider that no longer decrypts, and no admin user
    const local = { api_base: `http://127.0.0.1:${lab.hermesPort}/v1`, timeout: 120, rpm: 60 };
    await lab.db.insertModel({
      model_id: 'db-broken',
      model_name: 'chat-broken-vllm',
      litellm_params: { ...encryptParams({ model: 'Qwen/Qwen2.5-0.5B-Instruct', ...local }, SALT), ...encryptParams({ custom_llm_provider: 'hosted_vllm' }, OTHER_SALT) },
    });
    await lab.startWorker();
    gpu2 = await startWorkerProcess(lab, 'gpu-2');
  });

  afterAll(async () => {
    await gpu2?.stop();
    for (const text of outputs) for (const secret of lab.secrets) expect(text).not.toContain(secret);
    await lab?.dispose();
  });

  const bringup = async (line: string, role: string): Promise<BringupJson> => {
    const r = (await lab.exec(line, ['--as', role], { timeoutMs: 90_000 })) as BringupJson;
    outputs.push(r.raw, r.stderr);
    return r;
  };

  it('refuses a viewer', async () => {
    const r = await bringup('/bringup', 'viewer');
    expect(r.outcome).toBe('denied');
    expect(r.code).toBe(2);
    expect(await httpStatus(`${lab.proxy.url}/health/liveliness`)).toBeNull();
  });

  it('names every model it could start when one is unknown', async () => {
    const r = await bringup('/bringup models:chat-hermes,nosuch-model', 'operator');
    expect(r.outcome).toBe('usage');
    expect(r.title).toContain('Unknown model "nosuch-model"');
    expect(r.hint).toContain(`${HERMES} (chat-hermes)`);
    expect(r.hint).toContain(EMBEDDER);
    expect(r.hint).toContain(REMOTE);
    expect(r.hint).not.toContain('litellm');
  });

  it('starts the proxy unit and waits for it, starts the listed models (one by its own host), and reports the doctor and the smoke', async () => {
    expect(await httpStatus(`${lab.proxy.url}/health/liveliness`)).toBeNull();
    const r = await bringup(`/bringup models:chat-hermes,${REMOTE}`, 'operator');
    expect(r.data.proxy).toMatchObject({ model: 'litellm', before: 'stopped', started: true, live: true, ready: true, db: 'connected' });
    expect(await httpStatus(`${lab.proxy.url}/health/readiness`)).toBe(200);
    // the other host's model first, by its own worker; then the proxy host's, by the bringup job
    expect(r.data.starts).toEqual([
      expect.objectContaining({ model: REMOTE, host: 'gpu-2', status: 'ready', ok: true }),
      expect.objectContaining({ model: HERMES, host: 'gpu-1', status: 'ready', ok: true }),
    ]);
    expect(await httpStatus(`http://127.0.0.1:${lab.hermesPort}/health`)).toBe(200);
    expect(await httpStatus(`http://127.0.0.1:${remotePort}/health`)).toBe(200);

    const found = r.data.doctor!.findings.map((f) => `${f.check} ${f.subject}`);
    expect(found).toEqual(expect.arrayContaining(['provider-unreadable chat-broken-vllm', 'admin-user default_user_id']));
    expect(found).not.toContain('proxy-live proxy');
    const rows = new Map(r.data.smoke!.results.map((row) => [row.model, row]));
    expect(rows.get(HERMES)).toMatchObject({ ok: true, servedBy: HERMES, fallback: false });
    expect(rows.get('chat-default')).toMatchObject({ ok: true, fallback: false });
    expect(rows.get(EMBEDDER)).toMatchObject({ ok: null });

    // one report; it never repairs: the findings' repairs are listed, and the database is as it was
    expect(r.outcome).toBe('failed');
    expect(r.title).toMatch(/^Bringup on gpu-1: proxy started and ready; 2 of 2 models up; doctor: \d+ findings; smoke: /);
    const text = await lab.execText('/bringup', ['--as', 'operator'], { timeoutMs: 90_000 });
    outputs.push(text.stdout, text.stderr);
    for (const part of ['Came up', 'Found', 'Smoke', 'To repair', '/repair kind:encrypted-providers', '/repair kind:admin-user', 'litellm', 'running → ready', 'was running']) expect(text.stdout).toContain(part);
  });
});
