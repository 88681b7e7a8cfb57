import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HERMES, VISION } from '../src/demo/lab.js';
import { endTagged, taggedProcesses } from '../src/demo/processes.js';
import { demoTag } from '../src/demo/run.js';
import { CliProcess, runCli } from './support/cli.js';
import { isAlive } from './support/engines-helpers.js';
import { createTestLab, deleteKeys, dropSchema, type TestLab } from './support/env.js';

interface Json {
  outcome: string;
  title: string;
  data: Record<string, unknown> & {
    findings?: { check: string; subject: string; severity: string; repair: string | null }[];
    results?: { model: string; ok: boolean | null; servedBy: string | null; fallback: boolean }[];
    auditId?: string;
    changes?: { subject: string; field: string; before: string; after: string }[];
  };
}

/** The README walk's repairs, in its order, each with the finding it clears. */
const REPAIRS = [
  ['encrypted-providers', `provider-unreadable ${VISION}`],
  ['admin-user', 'admin-user default_user_id'],
  ['rename model:llamacpp-local to:chat-hermes-3-llama-3.1-8b', 'model-name llamacpp-local'],
  ['model-limits', 'model-limits embeddings-default'],
] as const;

/**
 * `labops demo` as a user runs it, and the README's walk through `labops exec` against it. The
 * base config gives the demo its Redis and PostgreSQL (its own prefix and schemas are derived).
 */
describe('labops demo', () => {
  let lab: TestLab;
  let demoDir: string;
  let demo: CliProcess | null = null;
  const startDemo = async () => {
    demo = new CliProcess(['demo', '--dir', demoDir], lab.env);
    await demo.waitFor(/local shell as .*\n/, { timeoutMs: 60_000 });
    return demo;
  };
  const exec = async (line: string, role: string, flags: string[] = []): Promise<Json & { code: number | null }> => {
    const r = await runCli(['exec', line, '--json', '--as', role, ...flags], { ...lab.env, LABOPS_CONFIG: join(demoDir, 'labops.yaml') }, { timeoutMs: 60_000 });
    try {
      return { ...(JSON.parse(r.stdout) as Json), code: r.code };
    } catch {
      throw new Error(`exec ${line}: not JSON (exit ${r.code})\n${r.stdout}\n${r.stderr}`);
    }
  };
  const rows = (r: Json) => new Map((r.data.results ?? []).map((row) => [row.model, row]));
  const problems = (r: Json) => (r.data.findings ?? []).map((f) => `${f.check} ${f.subject}`).sort();

  beforeAll(() => {
    lab = createTestLab();
    demoDir = join(lab.dir, 'demo');
  });

  afterAll(async () => {
    await demo?.stop('SIGKILL');
    // a demo killed outright cannot stop its lab: the test does
    await endTagged(demoTag(demoDir));
    await deleteKeys(`${lab.prefix}-demo`);
    for (const schema of [`${lab.schema}_demo`, `${lab.schema}_demo_litellm`]) await dropSchema(schema);
    await lab.cleanup();
  });

  it("gives the README walk's outputs, and leaves no process after /quit", async () => {
    const shell = await startDemo();
    const tag = demoTag(demoDir);
    const launched = await taggedProcesses(tag);
    expect(launched).toHaveLength(3); // the stand-in, the embedder, the vision model

    const doctor = await exec('/doctor', 'viewer');
    expect(doctor.title).toBe('Doctor on gpu-1: 2 errors, 3 warnings');
    expect(problems(doctor)).toEqual([
      'admin-user default_user_id',
      `fallback-dangling ${HERMES}`,
      'model-limits embeddings-default',
      'model-name llamacpp-local',
      `provider-unreadable ${VISION}`,
    ]);

    // each repair: the dry run changes nothing, the apply clears its finding; the rename is undone and applied again
    let left = problems(doctor);
    for (const [repair, finding] of REPAIRS) {
      const dry = await exec(`/repair kind:${repair}`, 'admin');
      expect(dry).toMatchObject({ outcome: 'declined', code: 1 });
      if (repair === REPAIRS[0][0]) expect(problems(await exec('/doctor', 'viewer'))).toEqual(left);
      const applied = await exec(`/repair kind:${repair}`, 'admin', ['--yes']);
      expect(applied).toMatchObject({ outcome: 'ok', code: 0 });
      left = left.filter((p) => p !== finding && !(repair.startsWith('rename') && p.startsWith('fallback-dangling')));
      if (repair.startsWith('rename')) {
        const undo = await exec(`/repair kind:undo audit:${applied.data.auditId}`, 'admin', ['--yes']);
        expect(undo).toMatchObject({ outcome: 'ok', code: 0 });
        expect(problems(await exec('/doctor', 'viewer'))).toEqual(expect.arrayContaining(['model-name llamacpp-local', `fallback-dangling ${HERMES}`]));
        expect(await exec(`/repair kind:${repair}`, 'admin', ['--yes'])).toMatchObject({ outcome: 'ok' });
      }
    }
    const clean = await exec('/doctor', 'viewer');
    expect(clean).toMatchObject({ outcome: 'ok', title: 'Doctor: nothing wrong found on gpu-1' });

    const before = await exec('/smoke', 'operator');
    expect(rows(before).get('chat-default')).toMatchObject({ ok: true, servedBy: 'qwen3-coder-480b-cloud', fallback: true });
    expect(rows(before).get(VISION)).toMatchObject({ ok: true, servedBy: VISION });

    const start = await exec('/start chat-hermes', 'operator');
    expect(start).toMatchObject({ outcome: 'ok', code: 0 });
    expect(start.title).toMatch(new RegExp(`^${HERMES} is ready on gpu-1`));

    const after = await exec('/smoke', 'operator');
    expect(rows(after).get('chat-default')).toMatchObject({ ok: true, servedBy: HERMES, fallback: false });

    const running = await taggedProcesses(tag);
    expect(running).toHaveLength(4);
    shell.write('/quit');
    expect(await shell.wait()).toBe(0);
    for (const pid of running) expect(await isAlive(pid)).toBe(false);
    expect(await taggedProcesses(tag)).toEqual([]);
  }, 180_000);

  it('starts clean the second time, and stops everything on SIGINT', async () => {
    const shell = await startDemo();
    const tag = demoTag(demoDir);
    const listed = await exec('/models', 'viewer');
    const models = (listed.data as unknown as { models: { name: string; state: string }[] }).models;
    expect(Object.fromEntries(models.map((m) => [m.name, m.state]))).toMatchObject({ litellm: 'running', [HERMES]: 'stopped', [VISION]: 'running' });
    expect(problems(await exec('/doctor', 'viewer'))).toHaveLength(5);

    const running = await taggedProcesses(tag);
    expect(await shell.stop('SIGINT', 30_000)).toBe(0);
    for (const pid of running) expect(await isAlive(pid)).toBe(false);
    expect(await taggedProcesses(tag)).toEqual([]);
  }, 60_000);
});
