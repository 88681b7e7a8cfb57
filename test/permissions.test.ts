import { userInfo } from 'node:os';
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
    expect(viewer.commands.map((c) => c.name)).toEqual(['status', 'models', 'vram', 'doctor', 'alerts', 'log', 'help']);
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

  it('local identity is the OS user: --user cannot borrow a role, --as cannot raise one', async () => {
    const me = userInfo().username;
    const borrow = await runCli(['exec', '/jobs', '--user', 'alice'], lab.env);
    expect(borrow.code).toBe(2);
    expect(borrow.stderr).toContain(`${me} may not act as another user: --user needs the admin role, and labops.yaml grants ${me} viewer.`);

    const asMe = await runCli(['exec', '/jobs'], lab.env);
    expect(asMe.code).toBe(2);
    expect(asMe.stdout).toContain('Your role (viewer) may not run /jobs: it needs operator.');

    const escalate = await runCli(['exec', '/status', '--as', 'admin'], lab.env);
    expect(escalate.code).toBe(2);
    expect(escalate.stderr).toContain(`${me} may not act as admin here: labops.yaml grants ${me} viewer.`);
  });

  it('an admin may act as another user, with the lower of the two roles, and the audit log names both', async () => {
    const adminLab = createTestLab({ local: { defaultRole: 'admin', users: { bob: 'viewer' } } });
    try {
      const me = userInfo().username;
      const denied = await runCli(['exec', '/jobs', '--user', 'bob'], adminLab.env);
      expect(denied.code).toBe(2);
      expect(denied.stdout).toContain('Your role (viewer) may not run /jobs: it needs operator.');
      const escalate = await runCli(['exec', '/status', '--as', 'admin', '--user', 'bob'], adminLab.env);
      expect(escalate.code).toBe(2);
      expect(escalate.stderr).toContain('bob may not act as admin here: labops.yaml grants bob viewer.');
      expect((await runCli(['exec', '/help', '--user', 'bob'], adminLab.env)).code).toBe(0);
      const rows = await auditRows(adminLab);
      expect(rows.map((r) => r.actor_name)).toContain(`bob (by ${me})`);
    } finally {
      await adminLab.cleanup();
    }
  });
});
