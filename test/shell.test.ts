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
});
