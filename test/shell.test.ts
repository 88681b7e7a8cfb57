import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess } from './support/cli.js';
import { createTestLab, type TestLab } from './support/env.js';

let lab: TestLab;
let shell: CliProcess | null = null;

beforeAll(() => {
  lab = createTestLab({ local: { defaultRole: 'viewer', users: {} } });
});
afterEach(async () => {
  await shell?.stop();
  shell = null;
});
afterAll(async () => {
  await lab?.cleanup();
});

describe('the local shell as a real child process', () => {
  it('`labops all` without a Discord token opens the shell; /status answers from its own worker; /quit exits 0', async () => {
    shell = new CliProcess(['all'], lab.env);
    await shell.waitFor(/local shell as \S+ \(viewer\)\. \/help lists what you may run, \/quit leaves\.\nlabops> /);

    let from = shell.stdout.length;
    shell.write('/status');
    await shell.waitFor(/ℹ Status of gpu-1[\s\S]*Audit log: ok\nlabops> /, { from, timeoutMs: 20_000 });
    expect(shell.stdout.slice(from)).toMatch(/── gpu-1 — worker v[\d.]+ up/);
    expect(shell.stdout.slice(from)).toMatch(/GPU: +no NVIDIA GPU/);

    from = shell.stdout.length;
    shell.write('/jobs');
    await shell.waitFor(/✖ Your role \(viewer\) may not run \/jobs: it needs operator\.\n→ .*\nlabops> /, { from });

    from = shell.stdout.length;
    shell.write('stauts');
    await shell.waitFor(/✖ Unknown command \/stauts\.\n→ Commands you may run: \/status /, { from });

    shell.write('/quit');
    expect(await shell.wait()).toBe(0);
  });

  it('`labops shell --role` cannot exceed what the config grants, and the shell ends at end of input', async () => {
    shell = new CliProcess(['shell', '--role', 'admin'], lab.env);
    expect(await shell.wait()).toBe(2);
    expect(shell.stderr).toMatch(/may not act as admin here: labops\.yaml grants \S+ viewer\./);

    shell = new CliProcess(['shell'], lab.env);
    await shell.waitFor(/labops> /);
    shell.write('/help');
    await shell.waitFor(/Commands for \S+ \(viewer\)/);
    shell.child.stdin.end();
    expect(await shell.wait()).toBe(0);
  });

  it('with Redis down the shell still opens, says so, and /quit ends it promptly', async () => {
    shell = new CliProcess(['all'], { ...lab.env, LABOPS_REDIS_URL: 'redis://127.0.0.1:1' });
    await shell.waitFor(/labops> /);
    const from = shell.stdout.length;
    shell.write('/status');
    await shell.waitFor(/✖ Redis at redis:\/\/127\.0\.0\.1:1 is unreachable\.\n→ Nothing was queued\./, { from });
    const started = Date.now();
    shell.write('/quit');
    expect(await shell.wait()).toBe(0);
    expect(Date.now() - started).toBeLessThan(8_000);
    // one line per outage and component, not one per reconnect attempt
    const lines = `${shell.stdout}\n${shell.stderr}`.split('\n');
    expect(lines.filter((l) => l.startsWith('warn: notify queue error')).length).toBeLessThanOrEqual(4);
    expect(lines.filter((l) => l.includes('{"level"'))).toEqual([]);
  });
});
