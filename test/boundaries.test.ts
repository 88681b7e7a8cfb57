import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, startWorkerProcess } from './support/cli.js';
import { createTestLab, ROOT, type TestLab } from './support/env.js';

/** The boundaries of eslint.config.js, checked by linting code placed (virtually) in each folder. */
describe('the linter keeps bot, worker and shared code apart', () => {
  const eslint = new ESLint({ cwd: ROOT });
  const problems = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
    return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  };

  it.each([
    ['src/bot/status/x.ts', "import { probeHealth } from '../../engines/health.js';", /Bot code never loads worker code/],
    ['commands/x.ts', "import job from '../jobs/model-start.js';", /Bot code never loads worker code/],
    ['src/chat/x.ts', "import { acquireLock } from '../worker/lock.js';", /Bot code never loads worker code/],
    ['src/bot/x.ts', "import { runInit } from '../init/run.js';", /Bot code never loads worker code/],
    ['src/init/x.ts', "import { dispatch } from '../chat/dispatch.js';", /Worker code never loads bot code/],
    ['src/init/x.ts', "import { execa } from 'execa';", /started by src\/process only/],
    ['jobs/x.ts', "import { modelsReply } from '../src/bot/status/models.js';", /Worker code never loads bot code/],
    ['src/worker/x.ts', "import { dispatch } from '../chat/dispatch.js';", /Worker code never loads bot code/],
    ['src/queue/x.ts', "import { createEngine } from '../engines/index.js';", /Shared code .* imports neither side/],
    ['src/core/x.ts', "import { commands } from '../../commands/index.js';", /Shared code .* imports neither side/],
    ['src/bot/x.ts', "import { Client } from 'discord.js';", /discord\.js lives in src\/chat\/discord only/],
    ['src/worker/x.ts', "import { Queue } from 'bullmq';", /BullMQ lives in src\/queue only/],
    ['src/audit/x.ts', "import pg from 'pg';", /pg lives in src\/db only/],
    ['src/alerts/x.ts', "import { Redis } from 'ioredis';", /ioredis lives in src\/redis only/],
    ['src/engines/x.ts', "import { execa } from 'execa';", /started by src\/process only/],
    ['src/engines/x.ts', "import { spawn } from 'node:child_process';", /started by src\/process only/],
    ['src/demo/x.ts', "import { dispatch } from '../chat/dispatch.js';", /The demo builds a lab/],
    ['src/demo/x.ts', "import { spawn } from 'node:child_process';", /started by src\/process only/],
  ])('%s: %s is refused', async (file, code, message) => {
    expect(await problems(file, `${code}\nexport {};\n`)).toEqual([expect.stringMatching(message)]);
  });

  it.each([
    ['src/chat/discord/x.ts', "import { Client } from 'discord.js';"],
    ['src/queue/x.ts', "import { Queue } from 'bullmq';"],
    ['src/db/x.ts', "import pg from 'pg';"],
    ['src/litellm/x.ts', "import type pg from 'pg';"],
    ['src/init/x.ts', "import { readUserUnits } from './units.js';"],
    ['src/redis/x.ts', "import { Redis } from 'ioredis';"],
    ['src/process/x.ts', "import { execa } from 'execa';"],
    ['commands/x.ts', "import { modelStart } from '../src/contracts/model-start.js';"],
    ['jobs/x.ts', "import { modelStart } from '../src/contracts/model-start.js';"],
    ['src/demo/x.ts', "import pg from 'pg';"],
    ['src/demo/x.ts', "import { createEngine } from '../engines/index.js';"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await problems(file, `${code}\nexport {};\n`)).toEqual([]);
  });
});

/** What each process really loads (an ES module resolve hook logs every module). */
describe('each process loads only its own side', () => {
  let lab: TestLab;
  let dir: string;
  const loaded = (log: string) =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter((url) => url.includes('/dist/'))
      .map((url) => url.slice(url.indexOf('/dist/') + '/dist/'.length));

  beforeAll(() => {
    lab = createTestLab();
    dir = mkdtempSync(join(tmpdir(), 'labops-modules-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await lab.cleanup();
  });

  it('labops bot loads no engine, lock, processor or GPU code', async () => {
    const log = join(dir, 'bot.log');
    const bot = new CliProcess(['bot'], { ...lab.env, LABOPS_MODULE_LOG: log, NODE_OPTIONS: `--import=${join(ROOT, 'test/support/module-log/register.mjs')}` });
    await bot.waitFor(/labops> /);
    bot.write('/quit');
    expect(await bot.wait()).toBe(0);
    const modules = loaded(log);
    expect(modules).toContain('commands/index.js');
    expect(modules.filter((m) => /^(src\/(engines|worker|gpu|host|process|litellm|init)\/|jobs\/)/.test(m))).toEqual([]);
  });

  it('labops worker loads no command, chat adapter or discord.js code', async () => {
    const log = join(dir, 'worker.log');
    const worker = await startWorkerProcess(lab, 'gpu-1', { LABOPS_MODULE_LOG: log, NODE_OPTIONS: `--import=${join(ROOT, 'test/support/module-log/register.mjs')}` });
    await worker.stop();
    const modules = loaded(log);
    expect(modules).toContain('jobs/index.js');
    expect(modules.filter((m) => /^(src\/(bot|chat)\/|commands\/)/.test(m))).toEqual([]);
  });
});
