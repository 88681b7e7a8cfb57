import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKeys, encryptValue } from '../src/litellm/crypto.js';
import type { CliProcess } from './support/cli.js';
import { REDIS_URL } from './support/env.js';
import { fakeDecrypt } from './support/fake-litellm.js';
import { startModelServer, type ModelServer } from './support/litellm-lab.js';
import { waitFor } from './support/engines-helpers.js';
import { collectNotices, jobRows, type ExecJson } from './support/lifecycle-lab.js';
import { createProxyLab, EMBEDDER, encryptParams, HERMES, MASTER_KEY, UPSTREAM_KEY, type ProxyLab } from './support/proxy-lab.js';

const SALT = 'sk-repair-salt-key-3c9a1e07b5d24f68';
const OTHER_SALT = 'sk-repair-rotated-salt-f00d1e2d3c4b';
const LITERAL_KEY = 'sk-repair-literal-embedder-key-5a6b7c8d';
/** the model server behind the DB models and ollama-mistral (started before the lab) */
let mistralBase = '';

const configYaml = ({ hermesBase, embedderBase }: { hermesBase: string; embedderBase: string }) => `# gpu-1's LiteLLM proxy, as the reboot left it
model_list:
  - model_name: chat-default              # what clients ask for; the local Hermes
    litellm_params: { model: openai/hermes-3-llama-3.1-8b, api_base: ${hermesBase}, timeout: 120, rpm: 30 }
  - model_name: ${HERMES}
    litellm_params: { model: openai/hermes-3-llama-3.1-8b, api_base: ${hermesBase}, timeout: 120, rpm: 30 }
  - model_name: ollama-mistral            # old name, never renamed
    litellm_params:
      model: openai/mistral-7b
      api_base: "${mistralBase}"
      timeout: 120
      rpm: 10
  - model_name: vision-qwen3-vl-4b-ollama # max_tokens forgotten
    litellm_params: { model: ollama_chat/qwen3-vl:4b, api_base: "http://127.0.0.1:11434", timeout: 120, rpm: 10 }
  - model_name: ${EMBEDDER}  # rpm forgotten
    litellm_params:
      model: openai/snowflake-arctic-embed-m
      api_base: ${embedderBase}
      api_key: ${LITERAL_KEY}   # a literal key: never shown
      timeout: 120
  # cloud models (no api_base)
  - model_name: qwen3-coder-480b-cloud
    litellm_params: { model: openrouter/qwen/qwen3-coder, api_key: os.environ/OPENROUTER_API_KEY }
router_settings:
  fallbacks:
    - chat-default: ["qwen3-coder-480b-cloud"]
    - ollama-mistral: [chat-default]        # keep this comment
  context_window_fallbacks: [{"ollama-mistral": ["chat-default"]}]
  model_group_alias:
    mistral: ollama-mistral
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  store_model_in_db: true
`;

type Change = { table?: string; file?: string; subject: string; field: string; before: string | null; after: string | null; rule?: string };
type RepairJson = ExecJson & { data: { auditId: string; changes: Change[]; skipped: { subject: string; reason: string }[]; verification: { doctor: { check: string; subject: string }[]; smoke: { model: string; ok: boolean }[] | null } } };

describe('/repair of the LiteLLM proxy: plan, confirm, apply, verify, undo', () => {
  let lab: ProxyLab;
  let worker: CliProcess;
  let server: ModelServer;
  let initialFile = '';
  let notices: ReturnType<typeof collectNotices>;
  const outputs: string[] = [];
  const exec = async (line: string, flags: string[] = ['--yes']): Promise<RepairJson> => {
    const r = (await lab.exec(line, ['--as', 'admin', ...flags], { timeoutMs: 60_000 })) as RepairJson;
    outputs.push(r.raw, r.stderr);
    return r;
  };
  const rows = async () => await lab.db.query<{ id: string; row: string }>(`SELECT model_id AS id, to_jsonb(m)::text AS row FROM "LiteLLM_ProxyModelTable" m ORDER BY model_id`);
  const storedParams = async (id: string) => (await lab.db.query<{ p: Record<string, unknown> }>(`SELECT litellm_params AS p FROM "LiteLLM_ProxyModelTable" WHERE model_id = $1`, [id]))[0]!.p;
  const chat = async (model: string) =>
    (await fetch(`${lab.proxy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }) })).status;
  const doctor = async () => {
    const r = (await lab.exec('/doctor', ['--as', 'viewer'], { timeoutMs: 60_000 })) as ExecJson & { data: { findings: { check: string; subject: string }[] } };
    outputs.push(r.raw);
    return r.data.findings.map((f) => `${f.check} ${f.subject}`);
  };

  beforeAll(async () => {
    server = await startModelServer('mistral-7b');
    mistralBase = server.apiBase;
    lab = await createProxyLab({ saltKey: SALT, configYaml });
    lab.secrets.push(LITERAL_KEY, OTHER_SALT);
    const keys = deriveKeys(SALT);
    const local = { api_base: server.apiBase, api_key: UPSTREAM_KEY, rpm: 10 };
    await lab.db.insertModel({ model_id: 'db-qwen', model_name: 'chat-qwen2.5-0.5b-vllm', litellm_params: encryptParams({ model: 'hosted_vllm/Qwen/Qwen2.5-0.5B-Instruct', custom_llm_provider: 'hosted_vllm', ...local, timeout: 120 }, SALT) });
    // the incident: the provider written under another key; the model has no provider prefix, the api_base is local
    await lab.db.insertModel({ model_id: 'db-mistral', model_name: 'chat-mistral-7b-ollama', litellm_params: { ...encryptParams({ model: 'mistral-7b', ...local }, SALT), custom_llm_provider: encryptValue('ollama_chat', deriveKeys(OTHER_SALT)) } });
    await lab.db.insertModel({ model_id: 'db-double', model_name: 'chat-double-vllm', litellm_params: { ...encryptParams({ model: 'hosted_vllm/x', ...local, timeout: 60 }, SALT), custom_llm_provider: encryptValue(encryptValue('hosted_vllm', keys), keys) }, paramsAsJsonString: true });
    // the old name in the DB too: a rename writes this row and LiteLLM_Config's in one transaction
    await lab.db.insertModel({ model_id: 'db-old-name', model_name: 'ollama-mistral', litellm_params: encryptParams({ model: 'openai/mistral-7b', ...local, timeout: 120 }, SALT) });
    // nothing readable names a provider: left alone
    await lab.db.insertModel({ model_id: 'db-lost', model_name: 'chat-lost-cloud', litellm_params: { ...encryptParams({ model: 'gpt-x', api_base: 'https://api.example.com/v1' }, OTHER_SALT), custom_llm_provider: encryptValue('openai', deriveKeys(OTHER_SALT)) } });
    await lab.db.setConfigRow('router_settings', { fallbacks: [{ 'ollama-mistral': ['chat-default'] }, { 'chat-default': ['qwen3-coder-480b-cloud'] }], num_retries: 2 });
    initialFile = readFileSync(lab.configPath, 'utf8');
    notices = collectNotices(lab.prefix);
    worker = await lab.startWorker();
  });

  afterAll(async () => {
    if (worker) outputs.push(worker.stdout, worker.stderr);
    await notices?.close();
    await lab?.dispose();
    await server?.stop();
  });

  it('is refused to an operator', async () => {
    const r = await lab.exec('/repair kind:encrypted-providers', ['--as', 'operator', '--yes']);
    expect(r.code).toBe(2);
    expect(r.title).toBe('Your role (operator) may not run /repair: it needs admin.');
  });

  let auditId = '';
  let original: { id: string; row: string }[] = [];

  it('encrypted-providers: the dry run shows the diff, masked, and changes nothing', async () => {
    original = await rows();
    expect(await chat('chat-mistral-7b-ollama')).toBe(500);
    const dry = await exec('/repair kind:encrypted-providers', []);
    expect(dry.code, dry.raw).toBe(1);
    expect(dry.outcome).toBe('declined');
    const plan = dry.data as unknown as { changes: Change[]; skipped: { subject: string; reason: string }[] };
    expect(plan.changes).toEqual([
      { table: 'LiteLLM_ProxyModelTable', subject: 'chat-double-vllm (db-double)', field: 'litellm_params.custom_llm_provider', before: expect.stringMatching(/^<unreadable \d+ B>$/), after: 'hosted_vllm', rule: 'decrypted 2 layers' },
      { table: 'LiteLLM_ProxyModelTable', subject: 'chat-mistral-7b-ollama (db-mistral)', field: 'litellm_params.custom_llm_provider', before: expect.stringMatching(/^<unreadable \d+ B>$/), after: 'openai', rule: 'local OpenAI-compatible api_base' },
    ]);
    expect(plan.skipped).toEqual([{ subject: 'chat-lost-cloud (db-lost)', reason: expect.stringContaining('custom_llm_provider is unreadable') }]);
    expect(await rows()).toEqual(original);
  });

  it('encrypted-providers: applied in one go, readable in the configured format, verified, the proxy serves the model', async () => {
    const r = await exec('/repair kind:encrypted-providers');
    expect(r.code, r.raw).toBe(0);
    auditId = r.data.auditId;
    expect(auditId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.data.changes.map((c) => c.after)).toEqual(['hosted_vllm', 'openai']);
    expect(r.data.verification.doctor).toEqual([expect.objectContaining({ check: 'provider-unreadable', subject: 'chat-lost-cloud' })]);
    expect(r.data.verification.smoke).toEqual([expect.objectContaining({ model: 'chat-double-vllm', ok: true }), expect.objectContaining({ model: 'chat-mistral-7b-ollama', ok: true })]);
    const mistral = await storedParams('db-mistral');
    // nacl-urlsafe, padded: what LiteLLM writes and reads back
    expect(mistral.custom_llm_provider).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
    expect((mistral.custom_llm_provider as string).length % 4).toBe(0);
    expect(fakeDecrypt(mistral.custom_llm_provider as string, SALT)).toBe('openai');
    const double = await lab.db.query<{ p: string; by: string }>(`SELECT litellm_params #>> '{}' AS p, updated_by AS by FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'db-double'`);
    expect(fakeDecrypt((JSON.parse(double[0]!.p) as Record<string, string>).custom_llm_provider!, SALT)).toBe('hosted_vllm');
    expect(double[0]!.by).toMatch(/^labops:/);
    expect(await chat('chat-mistral-7b-ollama')).toBe(200);
    expect(await doctor()).not.toContain('provider-unreadable chat-mistral-7b-ollama');
    const posted = await notices.waitFor((n) => n.channel === 'log' && n.reply.title.startsWith('Repair encrypted-providers applied on gpu-1'));
    expect(JSON.stringify(posted.reply)).toContain(`/repair kind:undo audit:${auditId}`);
  });

  it('undo restores the rows byte for byte, and refuses once they changed since', async () => {
    const undone = await exec(`/repair kind:undo audit:${auditId}`);
    expect(undone.code, undone.raw).toBe(0);
    expect(await rows()).toEqual(original);
    expect(await chat('chat-mistral-7b-ollama')).toBe(500);
    await notices.waitFor((n) => n.channel === 'log' && n.reply.title.startsWith('Undo applied on gpu-1 by '));
    const again = await exec('/repair kind:encrypted-providers');
    expect(again.code, again.raw).toBe(0);
    await lab.db.query(`UPDATE "LiteLLM_ProxyModelTable" SET model_info = '{"edited": true}' WHERE model_id = 'db-mistral'`);
    const refused = await exec(`/repair kind:undo audit:${again.data.auditId}`);
    expect(refused.code).toBe(1);
    expect(refused.title).toMatch(/refused: something changed since the repair .*model_info\.edited: \(none\) → true/);
    expect(await chat('chat-mistral-7b-ollama')).toBe(200);
  });

  it('admin-user: inserts the row the UI login needs, never touches an existing one', async () => {
    expect(await doctor()).toContain('admin-user default_user_id');
    const r = await exec('/repair kind:admin-user');
    expect(r.code, r.raw).toBe(0);
    const [user] = await lab.db.query<Record<string, unknown>>(`SELECT user_role, teams, models, spend, metadata FROM "LiteLLM_UserTable" WHERE user_id = 'default_user_id'`);
    expect(user).toEqual({ user_role: 'proxy_admin', teams: [], models: [], spend: 0, metadata: {} });
    expect(r.data.verification.doctor).toEqual([]);
    const again = await exec('/repair kind:admin-user');
    expect(again.title).toBe('Nothing to repair on gpu-1: admin-user would change nothing.');
    // its undo deletes exactly the row it inserted
    expect((await exec(`/repair kind:undo audit:${r.data.auditId}`)).code).toBe(0);
    expect(await lab.db.query(`SELECT 1 FROM "LiteLLM_UserTable"`)).toEqual([]);
  });

  it('a second repair while one is applying is refused, with who holds it', async () => {
    // another session holds LiteLLM_Config's rows: the first repair waits inside its apply, holding the proxy
    const blocker = new pg.Client({ connectionString: lab.db.url });
    await blocker.connect();
    const redis = new Redis(REDIS_URL);
    let first: Promise<RepairJson> | undefined;
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM "LiteLLM_Config" FOR UPDATE`);
      first = exec('/repair kind:model-limits');
      await waitFor(() => redis.get(`${lab.prefix}:repair-lock:gpu-1`), 30_000, 'the first repair holding the proxy');
      const second = await exec('/repair kind:rename model:ollama-mistral to:chat-mistral-small-ollama');
      expect(second.code, second.raw).toBe(2);
      expect(second.title).toMatch(/^Another repair is running on the proxy of gpu-1: model-limits by \S+ \(job \S+, since \d\d:\d\d:\d\d UTC\)\. Nothing was changed\.$/);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
      redis.disconnect();
    }
    const done = await first;
    expect(done.code, done.raw).toBe(0);
    // back to where the lab was, for the tests below
    expect((await exec(`/repair kind:undo audit:${done.data.auditId}`)).code).toBe(0);
    expect(readFileSync(lab.configPath, 'utf8')).toBe(initialFile);
  });

  it('a failure on the last row (after a model row was written) leaves the database and config.yaml as they were', async () => {
    const before = await rows();
    const file = readFileSync(lab.configPath, 'utf8');
    await lab.db.query(`CREATE FUNCTION refuse_config() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure' USING ERRCODE = '23514'; END $$ LANGUAGE plpgsql`);
    await lab.db.query(`CREATE TRIGGER refuse_config BEFORE UPDATE ON "LiteLLM_Config" FOR EACH ROW EXECUTE FUNCTION refuse_config()`);
    try {
      const r = await exec('/repair kind:rename model:ollama-mistral to:chat-mistral-small-ollama');
      expect(r.code).toBe(1);
      expect(r.title).toMatch(/LiteLLM's database refused the change .*injected failure.*nothing was changed/);
    } finally {
      await lab.db.query(`DROP TRIGGER refuse_config ON "LiteLLM_Config"; DROP FUNCTION refuse_config()`);
    }
    expect(await rows()).toEqual(before);
    expect(readFileSync(lab.configPath, 'utf8')).toBe(file);
  });

  it('a config.yaml write that fails mid-apply leaves the database and the file as they were', async () => {
    // the worker runs as root here, so a read-only directory would not stop it: a file name one
    // backup suffix short of the file system's limit makes the backup write fail instead
    const longPath = join(dirname(lab.configPath), `${'c'.repeat(230)}.yaml`);
    const text = readFileSync(lab.configPath, 'utf8');
    writeFileSync(longPath, text);
    const before = await rows();
    const settings = await lab.db.query(`SELECT param_value::text AS v FROM "LiteLLM_Config" ORDER BY param_name`);
    const leftovers = readdirSync(dirname(lab.configPath)).filter((f) => f.includes('.labops-'));
    outputs.push(worker.stdout, worker.stderr);
    await worker.stop();
    worker = await lab.startWorker({}, { configPath: longPath });
    try {
      const r = await exec('/repair kind:rename model:ollama-mistral to:chat-mistral-small-ollama');
      expect(r.code, r.raw).toBe(1);
      expect(r.title).toMatch(/^Could not write the backup .*: ENAMETOOLONG; nothing was changed\.$/);
      expect(readFileSync(longPath, 'utf8')).toBe(text);
      expect(await rows()).toEqual(before);
      expect(await lab.db.query(`SELECT param_value::text AS v FROM "LiteLLM_Config" ORDER BY param_name`)).toEqual(settings);
      expect(readdirSync(dirname(lab.configPath)).filter((f) => f.includes('.labops-'))).toEqual(leftovers);
    } finally {
      outputs.push(worker.stdout, worker.stderr);
      await worker.stop();
      worker = await lab.startWorker();
    }
  });

  let renameAudit = '';
  it('rename: every reference in config.yaml and LiteLLM_Config, and nothing else', async () => {
    const file = readFileSync(lab.configPath, 'utf8');
    const backups = readdirBackups();
    const r = await exec('/repair kind:rename model:ollama-mistral to:chat-mistral-small-ollama');
    expect(r.code, r.raw).toBe(0);
    renameAudit = r.data.auditId;
    const after = readFileSync(lab.configPath, 'utf8');
    const [a, b] = [file.split('\n'), after.split('\n')];
    expect(b).toHaveLength(a.length);
    const changed = a.map((line, i) => [line, b[i]]).filter(([x, y]) => x !== y);
    expect(changed).toEqual(a.filter((l) => l.includes('ollama-mistral')).map((l) => [l, l.replaceAll('ollama-mistral', 'chat-mistral-small-ollama')]));
    expect(changed).toHaveLength(4);
    expect(await lab.db.query(`SELECT model_name FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'db-old-name'`)).toEqual([{ model_name: 'chat-mistral-small-ollama' }]);
    const [settings] = await lab.db.query<{ v: unknown }>(`SELECT param_value AS v FROM "LiteLLM_Config" WHERE param_name = 'router_settings'`);
    expect(settings!.v).toEqual({ fallbacks: [{ 'chat-mistral-small-ollama': ['chat-default'] }, { 'chat-default': ['qwen3-coder-480b-cloud'] }], num_retries: 2 });
    const findings = await doctor();
    expect(findings.filter((f) => f.startsWith('model-name') || f.startsWith('fallback-dangling'))).toEqual([]);
    lab.proxy.reloadConfig();
    expect(await chat('chat-mistral-small-ollama')).toBe(200);
    expect(readdirBackups().filter((f) => !backups.includes(f))).toEqual([`${basename(lab.configPath)}.labops-${renameAudit}.bak`]);
  });

  const readdirBackups = () => readdirSync(dirname(lab.configPath)).filter((f) => f.includes('.labops-') && f.endsWith('.bak'));

  let limitsAudit = '';
  it('model-limits: timeouts, rpm and the vision max_tokens where each model is defined; comments kept', async () => {
    expect(await doctor()).toEqual(expect.arrayContaining([`model-limits ${EMBEDDER}`, 'vision-max-tokens vision-qwen3-vl-4b-ollama', 'model-limits chat-mistral-7b-ollama']));
    const r = await exec('/repair kind:model-limits');
    expect(r.code, r.raw).toBe(0);
    limitsAudit = r.data.auditId;
    const text = readFileSync(lab.configPath, 'utf8');
    expect(text).toContain('# gpu-1\'s LiteLLM proxy, as the reboot left it');
    expect(text).toContain(`      timeout: 120\n      rpm: 30\n`);
    expect(text).toContain('litellm_params: { model: ollama_chat/qwen3-vl:4b, api_base: "http://127.0.0.1:11434", timeout: 120, rpm: 10, max_tokens: 4096 }');
    expect((await storedParams('db-mistral')).timeout).toBe(120);
    expect((await storedParams('db-qwen')).timeout).toBe(120);
    const left = (await doctor()).filter((f) => f.startsWith('model-limits') || f.startsWith('vision-max-tokens'));
    expect(left).toEqual([]);
    expect(r.data.changes.every((c) => !JSON.stringify(c).includes(LITERAL_KEY))).toBe(true);
  });

  it('undo of the rename restores config.yaml byte for byte once the later edit is undone first', async () => {
    const u1 = await exec(`/repair kind:undo audit:${limitsAudit}`);
    expect(u1.code, u1.raw).toBe(0);
    const u2 = await exec(`/repair kind:undo audit:${renameAudit}`);
    expect(u2.code, u2.raw).toBe(0);
    expect(readFileSync(lab.configPath, 'utf8')).toBe(initialFile);
  });

  it('shows no secret in any output, log line or audit row', async () => {
    const audit = JSON.stringify(await jobRows(lab, 'repair.apply')) + JSON.stringify(await jobRows(lab, 'repair.undo'));
    expect(audit).toContain('"image"');
    const log = await lab.execText('/log n:100', ['--as', 'viewer']);
    outputs.push(log.stdout, log.stderr);
    expect(log.stdout, log.stdout).toContain(`undo: /repair kind:undo audit:${renameAudit}`);
    const logJson = await lab.exec('/log n:100', ['--as', 'viewer']);
    expect(logJson.actions).toHaveLength(3);
    expect(logJson.actions[0]).toEqual({ label: expect.stringMatching(/^Undo undo \(/), command: 'repair', options: { kind: 'undo', audit: expect.any(String) }, style: 'danger' });
    const all = [...outputs, worker.stdout, worker.stderr, audit, JSON.stringify(notices.notices)].join('\n');
    for (const secret of lab.secrets) expect(all).not.toContain(secret);
  });
});

