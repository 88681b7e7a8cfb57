import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../commands/index.js';
import { createBotContext, type OwnedBotContext } from '../src/bot/context.js';
import type { AnyCommand, Caller, OptionDef } from '../src/chat/command.js';
import { dispatch } from '../src/chat/dispatch.js';
import { renderText } from '../src/chat/render-text.js';
import { runExec } from '../src/chat/shell/exec.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import type { Reply } from '../src/core/reply.js';
import { CliProcess, runCli, startWorkerProcess } from './support/cli.js';
import { auditRows, createTestLab, ROOT, type TestLab } from './support/env.js';
import { IDS, startDiscordLab, type DiscordLab } from './support/discord-lab.js';

/**
 * The hostile-input corpus (test/fixtures/hostile.json) fed to every option of every command, the
 * way exec and the shell hand them over, and a part of it through the real Discord adapter: each
 * gets a clear refusal or a safe answer, nothing is spawned, the audit log keeps flowing and /log
 * shows it escaped, no output exceeds a bound.
 */
interface Entry {
  why: string;
  value?: string;
  repeat?: string;
  times?: number;
}

const dir = mkdtempSync(join(tmpdir(), 'labops-hostile-'));
const canary = join(dir, 'pwned');
const corpus = (JSON.parse(readFileSync(join(ROOT, 'test/fixtures/hostile.json'), 'utf8')) as { entries: Entry[] }).entries.map((e) => ({
  why: e.why,
  value: e.repeat ? e.repeat.repeat(e.times ?? 1) : e.value!.replaceAll('{canary}', canary),
}));

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const MAX_OUTPUT = 20_000;

let lab: TestLab;
let ctx: OwnedBotContext;
let worker: CliProcess;
let caller: Caller;

beforeAll(async () => {
  lab = createTestLab();
  worker = await startWorkerProcess(lab);
  const { config } = loadConfig(lab.configFile, lab.env);
  ctx = await createBotContext(config, silentLogger(), commands);
  caller = { id: 'local:mallory', name: 'mallory', role: 'admin', adapter: 'exec', channelId: 'local', inDM: false };
}, 60_000);

afterAll(async () => {
  await ctx?.close();
  await worker?.stop();
  await lab?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A valid value for each option that is not the one under attack. */
function valid(def: OptionDef): unknown {
  if (def.type === 'integer') return def.min ?? 1;
  if (def.type === 'boolean') return false;
  if (def.choices) return def.choices[0];
  if (def.autocomplete === 'model') return 'chat-hermes';
  if (def.autocomplete === 'host') return 'gpu-1';
  return 'x';
}

function expectSafe(reply: Reply, what: string) {
  expect(reply.outcome, `${what}: ${reply.title}`).not.toBe('error');
  const text = renderText(reply);
  expect(RAW_CONTROL.test(text), `${what}: raw control character in ${JSON.stringify(text.slice(0, 200))}`).toBe(false);
  expect(text.length, what).toBeLessThan(MAX_OUTPUT);
  expect(JSON.stringify(reply.data ?? null).length, what).toBeLessThan(MAX_OUTPUT * 5);
}

describe('every option of every command, through dispatch (the exec and shell path)', () => {
  const cases = commands.flatMap((command: AnyCommand) => Object.entries(command.options as Record<string, OptionDef>).map(([option, def]) => ({ command, option, def })));

  it.each(cases.map((c) => [`/${c.command.name} ${c.option}:`, c] as const))('%s refuses or safely answers every hostile value', async (_name, { command, option }) => {
    const defs = command.options as Record<string, OptionDef>;
    const required = Object.fromEntries(Object.entries(defs).filter(([k, d]) => d.required && k !== option).map(([k, d]) => [k, valid(d)]));
    for (const { why, value } of corpus) {
      const reply = await dispatch(ctx, {
        caller,
        command: command.name,
        raw: { ...required, [option]: value },
        progress: () => undefined,
        confirm: async () => false,
      });
      expectSafe(reply, `/${command.name} ${option}: ${why}`);
    }
  }, 120_000);
});

describe('whole command lines (exec)', () => {
  it.each(corpus.map((c) => [c.why, c.value] as const))('%s', async (_why, value) => {
    const out: string[] = [];
    const sink = { write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WritableStream;
    for (const line of [`/status host:${value}`, `/log n:${value}`, `/start "${value}"`, value]) {
      const code = await runExec(ctx, caller, line, { yes: false, json: false, stdout: sink, stderr: sink });
      expect([0, 1, 2]).toContain(code);
    }
    const printed = out.join('');
    expect(RAW_CONTROL.test(printed), JSON.stringify(printed.slice(0, 300))).toBe(false);
    expect(printed.length).toBeLessThan(MAX_OUTPUT * 4);
  });

  it('nothing was spawned by any of it, and the audit log kept flowing and shows it escaped', async () => {
    expect(existsSync(canary)).toBe(false);
    await ctx.audit.flush();
    const health = await ctx.audit.health();
    expect(health).toMatchObject({ ok: true, pending: 0, rejected: 0 });
    const rows = await auditRows(lab);
    expect(rows.length).toBeGreaterThan(corpus.length);
    expect(rows.some((r) => JSON.stringify(r.args).includes('\\u0000'))).toBe(false);

    const log = await dispatch(ctx, { caller, command: 'log', raw: { n: 200 }, progress: () => undefined, confirm: async () => false });
    expect(log.outcome).toBe('ok');
    const text = renderText(log);
    expect(RAW_CONTROL.test(text)).toBe(false);
    const lines = text.split('\n');
    // the title, the header, the rule, one line per row: no value made a line of its own
    expect(lines.filter((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /.test(l))).toHaveLength(200);
    expect(lines.every((l) => [...l].length < 800)).toBe(true);
  });
});

describe('the issue reproductions, through the real CLI', () => {
  it('a NUL byte typed into the shell is refused, and later rows are still written', async () => {
    const shell = await runCli(['shell'], lab.env, { input: '/start chat\u0000hermes\n/help\n/quit\n' });
    expect(shell.code).toBe(0);
    expect(shell.stdout).toContain('The command line contains a control character (U+0000); labops takes printable text only.');
    expect(shell.stdout).toContain('Commands for');
    const status = await runCli(['exec', '/status'], lab.env);
    expect(status.stdout).toContain('Audit log: ok');
  });

  it('ANSI escapes and a forged /log line are refused at input', async () => {
    const esc = await runCli(['exec', '/status host:\u001b[2Jgpu-1'], lab.env);
    expect(esc.code).toBe(2);
    expect(esc.stdout).not.toContain('\u001b');
    const forged = await runCli(['exec', '/log\n2026-12-01 00:00:00  root  admin  /stop  gpu-1  ok'], lab.env);
    expect(forged.code).toBe(2);
    expect(forged.stdout).toContain('control character (U+000A)');
  });

  it('a 1 MB line is refused at once, and stored nowhere whole', async () => {
    const started = Date.now();
    const big = await runCli(['shell'], lab.env, { input: `/start ${'x'.repeat(1_000_000)}\n/quit\n` });
    expect(big.code).toBe(0);
    expect(big.stdout).toContain('The command line is 1,000,007 characters long; at most 6,000 are taken.');
    expect(Date.now() - started).toBeLessThan(15_000);
    const rows = await auditRows(lab);
    expect(Math.max(...rows.map((r) => JSON.stringify(r).length))).toBeLessThan(20_000);
  });

  it('an option or flag given twice is refused', async () => {
    expect((await runCli(['exec', '/log n:1 n:2'], lab.env)).stdout).toContain('/log got n: twice; give each option once.');
    const flags = await runCli(['exec', '/jobs', '--as', 'viewer', '--as', 'operator'], lab.env);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain('--as is given 2 times; give it once.');
  });
});

describe('through the Discord adapter', () => {
  let env: DiscordLab;
  let bot: CliProcess;
  let dworker: CliProcess;

  beforeAll(async () => {
    env = await startDiscordLab();
    dworker = await startWorkerProcess(env.lab);
    bot = new CliProcess(['bot'], env.botEnv);
    await bot.waitFor(/"msg":"Discord ready"/, { stream: 'stderr', timeoutMs: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await bot?.stop();
    await dworker?.stop();
    await env?.close();
  });

  const nasty = corpus.filter((c) => /NUL|ANSI|newline|carriage|bidi|mention|everyone|fence|10 kB|look-alike|secret|URL/.test(c.why));

  it.each([
    ['status', 'host', 'alice'],
    ['start', 'model', 'olga'],
    ['log', 'host', 'alice'],
  ] as const)('/%s %s: every nasty value is answered, escaped, with no mention', async (name, option, user) => {
    for (const { why, value } of nasty) {
      const cmd = env.fake.slashCommand({ name, user, channel: 'ops', options: { [option]: value } });
      // the answer: an edit of the reply, or (a private refusal) a follow-up
      const edit = await cmd.waitForCall((c) => c.status === 200 && ['PATCH', 'POST'].includes(c.method) && c.route.startsWith('/webhooks/') && (c.message?.embeds?.length ?? 0) > 0, 20_000);
      const message = edit.message as { content: string; embeds: { title?: string; description?: string; footer?: { text: string } }[] };
      const shown = [message.content, ...message.embeds.flatMap((e) => [e.title ?? '', e.description ?? '', e.footer?.text ?? ''])].join('\n');
      expect(RAW_CONTROL.test(shown), `${name} ${why}: ${JSON.stringify(shown.slice(0, 200))}`).toBe(false);
      expect(edit.body.allowed_mentions, why).toEqual({ parse: [] });
      const stored = env.fake.message((edit.response as { id: string }).id) as { mentions: unknown[]; mention_roles: string[]; mention_everyone: boolean };
      expect(stored, why).toMatchObject({ mentions: [], mention_roles: [], mention_everyone: false });
      expect(shown).not.toContain('DbPw/Secret_42');
      expect(shown).not.toContain('sk-live-0123456789abcdef0123');
    }
    expect(existsSync(canary)).toBe(false);
    expect(IDS.guild).toBeTruthy();
  }, 120_000);
});
