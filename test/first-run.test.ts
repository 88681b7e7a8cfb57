import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotContext } from '../src/bot/context.js';
import type { Caller } from '../src/chat/command.js';
import { runShell } from '../src/chat/shell/shell.js';
import { printLine } from '../src/core/console-lines.js';
import { formatLogLine } from '../src/core/log-line.js';
import { CliProcess, runCli, startWorkerProcess } from './support/cli.js';
import { createTestLab, type TestLab } from './support/env.js';
import { startOwnRedis } from './support/services.js';

describe('a start script that is missing or cannot run is named with its config key', () => {
  let lab: TestLab;
  let worker: CliProcess;
  const key = 'hosts.gpu-1.models.chat-hermes-3-llama-3.1-8b.engine.start';

  beforeAll(async () => {
    lab = createTestLab();
    worker = await startWorkerProcess(lab);
  });
  afterAll(async () => {
    await worker?.stop();
    await lab?.cleanup();
  });

  it('missing, not executable, or with an interpreter that is not there: no raw spawn error', async () => {
    const script = join(lab.dir, 'bin', 'start.sh');
    const start = () => runCli(['exec', '/start chat-hermes', '--as', 'operator'], lab.env, { timeoutMs: 30_000 });

    let r = await start();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✖ ${key}: ${script} does not exist.\n→ Fix the path in labops.yaml, or put the script there.`);

    mkdirSync(join(lab.dir, 'bin'), { recursive: true });
    writeFileSync(script, '#!/nonexistent/python3\nprint("hi")\n', { mode: 0o644 });
    r = await start();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✖ ${key}: ${script} is not executable.\n→ Make it executable: chmod +x ${script}`);

    chmodSync(script, 0o755);
    r = await start();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✖ ${key}: ${script} cannot be run: its interpreter (/nonexistent/python3) was not found.`);

    for (const output of [r.stdout, r.stderr, worker.stderr]) expect(output).not.toMatch(/ENOENT|EACCES|spawn /);
    // a failure the user is told about is not a warning in the worker's log
    expect(worker.stderr).not.toMatch(/"level":40[^\n]*job failed/);
  });
});

describe('the interactive shell prints log lines for a person, above the prompt', () => {
  it('Redis going away while the prompt waits: readable warnings on their own lines, the prompt drawn again', async () => {
    const redis = await startOwnRedis();
    const lab = createTestLab();
    const shell = new CliProcess(['all'], { ...lab.env, LABOPS_REDIS_URL: redis.url });
    try {
      await shell.waitFor(/\/quit leaves\.\nlabops> $/);
      await redis.stop();
      await shell.waitFor(/\nwarn: [^\n]*Redis[^\n]*\n/, { timeoutMs: 15_000 });
      await shell.waitFor(/\nlabops> $/);
      shell.write('/quit');
      expect(await shell.wait()).toBe(0);
      const all = shell.stdout + shell.stderr;
      expect(all).not.toContain('{"level"');
      // nothing is printed after a prompt on its line: a log line never sticks to `labops> `
      expect(shell.stdout).not.toMatch(/labops> [^\n]/);
      expect(shell.stdout).toMatch(/labops> \nwarn: /);
    } finally {
      await shell.stop();
      await redis.stop();
      await lab.cleanup();
    }
  });

  it('on a terminal, a line clears the prompt line, is printed, and the prompt comes back with what was typed', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
    const output = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let written = '';
    output.on('data', (d: Buffer) => (written += d.toString()));
    const caller: Caller = { id: 'ada', name: 'ada', role: 'viewer', adapter: 'shell', channelId: 'local', inDM: false };
    const done = runShell({} as BotContext, caller, { input, output });
    const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');
    const plain = () => written.replace(ansi, '');
    await expect.poll(plain).toMatch(/labops> $/);
    input.write('/sta');
    await expect.poll(plain).toMatch(/labops> \/sta$/);
    const before = written.length;
    printLine('warn: GPU sampler failed (host=gpu-1)');
    const after = written.slice(before);
    // clear the line, go to its start, print, draw the prompt and the typed text again
    const ESC = '\u001b';
    expect(after.startsWith(`${ESC}[2K${ESC}[1Gwarn: GPU sampler failed (host=gpu-1)\n`)).toBe(true);
    expect(after.replace(ansi, '')).toMatch(/\nlabops> \/sta$/);
    input.write('\u0015'); // Ctrl-U: take back what was typed, then leave
    input.end();
    await done;
  });
});

describe('a log line for a person', () => {
  it('level, message and fields on one line, redacted, an error by its message', () => {
    const line = formatLogLine(
      JSON.stringify({ level: 40, time: 1, pid: 2, hostname: 'h', name: 'labops', host: 'gpu-1', err: { type: 'Error', message: 'boom\nat x', stack: 'Error: boom\n    at y' }, url: 'redis://u:hunter2hunter2@r:6379', key: 'sk-abcdefghijkl', msg: 'worker error' }),
    );
    expect(line).toBe('warn: worker error (host=gpu-1 err="boom\\nat x" url=redis://u:***@r:6379 key=sk-***)');
    expect(formatLogLine('{"level":30,"msg":"ready"}')).toBe('info: ready');
    expect(formatLogLine('not json\n')).toBe('not json');
  });
});
