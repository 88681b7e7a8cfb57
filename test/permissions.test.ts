import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotContext, type OwnedBotContext } from '../src/bot/context.js';
import { commands } from '../commands/index.js';
import type { Caller } from '../src/chat/command.js';
import { dispatch } from '../src/chat/dispatch.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { runCli } from './support/cli.js';
import { auditRows, createTestLab, type TestLab } from './support/env.js';

let lab: TestLab;
let ctx: OwnedBotContext;

const caller = (role: Caller['role'], extra: Partial<Caller> = {}): Caller => ({
  id: `u-${role ?? 'none'}`,
  name: `user-${role ?? 'none'}`,
  role,
  adapter: 'exec',
  channelId: 'local',
  inDM: false,
  ...extra,
});

const run = (c: Caller, command: string, raw: Record<string, unknown> = {}) =>
  dispatch(ctx, { caller: c, command, raw, progress: () => undefined, confirm: async () => false });

beforeAll(async () => {
  lab = createTestLab({ local: { defaultRole: 'viewer', users: { alice: 'admin', mallory: 'none' } } });
  ctx = await createBotContext(loadConfig(lab.configFile, {}).config, silentLogger(), commands);
});

afterAll(async () => {
  await ctx?.close();
  await lab?.cleanup();
});

describe('permissions', () => {
  it('a user with no role may run only /help, and is told so', async () => {
    const help = await run(caller(null), 'help');
    expect(help.outcome).toBe('ok');
    expect(help.title).toBe('user-none has no labops role: only /help');
    expect((help.data as { commands: { name: string }[] }).commands.map((c) => c.name)).toEqual(['help']);

    const denied = await run(caller(null), 'status');
    expect(denied.outcome).toBe('denied');
    expect(denied.title).toBe('You have no labops role, and may not run /status: it needs viewer.');
  });

  it('/help lists only what the caller may run', async () => {
    const viewer = (await run(caller('viewer'), 'help')).data as { commands: { name: string }[] };
    expect(viewer.commands.map((c) => c.name)).toEqual(['status', 'models', 'alerts', 'log', 'help']);
    const operator = (await run(caller('operator'), 'help')).data as { commands: { name: string }[] };
    expect(operator.commands.map((c) => c.name)).toContain('jobs');
  });

  it('a viewer may not run an operator command, and the denial is audited', async () => {
    const reply = await run(caller('viewer'), 'jobs');
    expect(reply.outcome).toBe('denied');
    expect(reply.title).toBe('Your role (viewer) may not run /jobs: it needs operator.');
    await ctx.audit.flush();
    const rows = await auditRows(lab);
    expect(rows).toContainEqual(expect.objectContaining({ command: 'jobs', actor_name: 'user-viewer', role: 'viewer', outcome: 'denied', kind: 'command' }));
  });

  it('unknown commands and options get the valid choices', async () => {
    const unknown = await run(caller('viewer'), 'stauts');
    expect(unknown.outcome).toBe('usage');
    expect(unknown.hint).toMatch(/^Commands you may run: \/status/);
    const option = await run(caller('viewer'), 'log', { count: '5' });
    expect(option.outcome).toBe('usage');
    expect(option.title).toBe('/log has no option "count".');
    expect(option.hint).toMatch(/Options: .*n:/);
    const host = await run(caller('viewer'), 'status', { host: 'gpu-7' });
    expect(host.title).toBe('Unknown host "gpu-7".');
    expect(host.hint).toBe('Hosts: gpu-1');
    const n = await run(caller('viewer'), 'log', { n: 'ten' });
    expect(n.title).toBe('/log n: expected a whole number, got "ten".');
  });

  it('exec grants the config\'s role and refuses more than it', async () => {
    const asViewer = await runCli(['exec', '/jobs', '--user', 'bob'], lab.env);
    expect(asViewer.code).toBe(2);
    expect(asViewer.stdout).toContain('Your role (viewer) may not run /jobs: it needs operator.');

    const escalate = await runCli(['exec', '/status', '--as', 'admin', '--user', 'bob'], lab.env);
    expect(escalate.code).toBe(2);
    expect(escalate.stderr).toContain('bob may not act as admin here: labops.yaml grants bob viewer.');

    const lower = await runCli(['exec', '/jobs', '--as', 'operator', '--user', 'alice'], lab.env);
    expect(lower.code).toBe(0);

    const none = await runCli(['exec', '/log', '--user', 'mallory'], lab.env);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('You have no labops role, and may not run /log: it needs viewer.');
  });
});
