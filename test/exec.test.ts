import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotContext } from '../src/bot/context.js';
import { commands } from '../commands/index.js';
import { dispatch } from '../src/chat/dispatch.js';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/core/logger.js';
import { runCli } from './support/cli.js';
import { createTestLab, type TestLab } from './support/env.js';

let lab: TestLab;

beforeAll(() => {
  lab = createTestLab({ local: { defaultRole: 'operator', users: {} } });
});
afterAll(async () => {
  await lab?.cleanup();
});

describe('labops exec', () => {
  it('exits 0 and prints the reply for a command that worked', async () => {
    const result = await runCli(['exec', '/help'], lab.env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ℹ Commands for .* \(operator\)/);
    expect(result.stdout).toContain('/status [host:<host>]');
  });

  it('--json prints the structured result', async () => {
    const result = await runCli(['exec', '/help', '--as', 'viewer', '--json'], lab.env);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { outcome: string; exitCode: number; data: { role: string; commands: { name: string }[] } };
    expect(json).toMatchObject({ outcome: 'ok', exitCode: 0, data: { role: 'viewer' } });
    expect(json.data.commands.map((c) => c.name)).toEqual(['status', 'models', 'vram', 'doctor', 'alerts', 'log', 'help']);
  });

  it('exits 2 for a usage error, with the valid choices', async () => {
    const unknown = await runCli(['exec', '/stauts'], lab.env);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toContain('✖ Unknown command /stauts.');
    expect(unknown.stdout).toMatch(/→ Commands you may run: \/status /);

    const json = await runCli(['exec', '/log n:lots', '--json'], lab.env);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: 'usage', exitCode: 2, title: '/log n: expected a whole number, got "lots".' });

    const noCommand = await runCli(['exec'], lab.env);
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toContain('which command?');
  });

  it('exits 2 for a permission error', async () => {
    const result = await runCli(['exec', '/jobs', '--as', 'viewer'], lab.env);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Your role (viewer) may not run /jobs: it needs operator.');
  });

  it('exits 1 when the command fails: Redis unreachable within 2 s', async () => {
    const result = await runCli(['exec', '/status'], { ...lab.env, LABOPS_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✖ Redis at redis://127.0.0.1:1 is unreachable.');
    expect(result.stdout).toContain('Nothing was queued.');
    // node's own start-up is in this figure too (the next test times the wait itself)
    expect(result.ms).toBeLessThan(8_000);
  });

  it('tells the user within 2 s of the command, not after a hang', async () => {
    const { config } = loadConfig(lab.configFile, { LABOPS_REDIS_URL: 'redis://127.0.0.1:1' });
    const ctx = await createBotContext(config, silentLogger(), commands);
    try {
      const started = performance.now();
      const reply = await dispatch(ctx, {
        caller: { id: 'u', name: 'u', role: 'viewer', adapter: 'exec', channelId: 'local', inDM: false },
        command: 'status',
        raw: {},
        progress: () => undefined,
        confirm: async () => false,
      });
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(reply).toMatchObject({ outcome: 'failed', title: 'Redis at redis://127.0.0.1:1 is unreachable.' });
    } finally {
      await ctx.close();
    }
  });
});
