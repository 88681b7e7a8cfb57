import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isUserError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createEngine } from '../src/engines/index.js';
import type { ScriptEngine } from '../src/engines/script.js';
import {
  freePort,
  httpStatus,
  isAlive,
  killTagged,
  modelRef,
  MODEL_SERVER,
  processGroup,
  removeDir,
  ROOT,
  tempDir,
  uniqueTag,
  waitFor,
  writeScript,
} from './support/engines-helpers.js';

const tag = uniqueTag('script');
const dirs: string[] = [];
const logger = silentLogger();
const signal = () => AbortSignal.timeout(20_000);

function setup(extra: Record<string, unknown> = {}, serverArgs: string[] = []) {
  const dir = tempDir(tag);
  dirs.push(dir);
  return freePort().then((port) => {
    const ref = modelRef('chat-test', {
      kind: 'script',
      cwd: dir,
      start: process.execPath,
      args: [MODEL_SERVER, '--port', String(port), '--model-id', tag, ...serverArgs],
      pidFile: 'run/model.pid',
      logFile: 'logs/model.log',
      stopTimeout: '2s',
      ...extra,
    });
    return { dir, port, ref, engine: createEngine(ref, { logger }) as ScriptEngine };
  });
}

afterEach(() => {
  killTagged(tag);
});
afterAll(() => {
  killTagged(tag);
  dirs.forEach(removeDir);
});

describe('script engine', () => {
  it('starts the script in its own process group, reports it running, tails its log and stops it', async () => {
    const { dir, port, engine } = await setup();
    expect(engine.pidFile).toBe(join(dir, 'run/model.pid'));
    expect(await engine.state()).toEqual({ state: 'stopped', pids: [] });

    await engine.start(signal());
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${port}/health`)) === 200, 5_000, 'health');
    const pid = Number(readFileSync(engine.pidFile, 'utf8'));
    expect(processGroup(pid)).toBe(pid);
    expect(processGroup(pid)).not.toBe(processGroup(process.pid));

    const state = await engine.state();
    expect(state).toMatchObject({ state: 'running' });
    expect(state.pids[0]).toBe(pid);
    expect((await engine.logs(5)).join('\n')).toContain(`listening on http://127.0.0.1:${port}`);

    // start is idempotent: no second server
    await engine.start(signal());
    expect(Number(readFileSync(engine.pidFile, 'utf8'))).toBe(pid);

    await engine.stop(signal());
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(engine.pidFile)).toBe(false);
    expect(await engine.state()).toEqual({ state: 'stopped', pids: [] });
    expect((await engine.logs(3)).join('\n')).toContain('SIGTERM, shutting down');
  });

  it('leaves the model running when the process that started it exits (a worker restart)', async () => {
    const { port, ref, engine } = await setup();
    const dist = join(ROOT, 'dist/src/engines/index.js');
    expect(existsSync(dist), 'dist/ is built by the global setup').toBe(true);
    const starter = `
      const { createEngine } = await import(${JSON.stringify(dist)});
      const { silentLogger } = await import(${JSON.stringify(join(ROOT, 'dist/src/core/logger.js'))});
      const engine = createEngine(${JSON.stringify(ref)}, { logger: silentLogger() });
      await engine.start(AbortSignal.timeout(10000));
      console.log('started');
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', starter], { encoding: 'utf8', timeout: 15_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('started');

    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${port}/health`)) === 200, 5_000, 'health after the starter exited');
    const state = await engine.state();
    expect(state.state).toBe('running');
    await engine.stop(signal());
    expect(state.pids.some(isAlive)).toBe(false);
  });

  it('follows a script that backgrounds the server and writes its own pid file', async () => {
    const dir = tempDir(tag);
    dirs.push(dir);
    const port = await freePort();
    writeScript(
      join(dir, 'start.sh'),
      `#!/bin/sh\nmkdir -p run\n"${process.execPath}" "${MODEL_SERVER}" --port ${port} --model-id ${tag} &\necho $! > run/server.pid\necho "start.sh: launched $!"\n`,
    );
    const engine = createEngine(modelRef('chat-bg', { kind: 'script', cwd: dir, start: 'start.sh', pidFile: 'run/server.pid', logFile: 'server.log' }), { logger });
    await engine.start(signal());
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${port}/health`)) === 200, 5_000, 'health');
    // the script writes its pid file after launching the server, then says so
    const launched = await waitFor(async () => /start\.sh: launched (\d+)/.exec((await engine.logs(10)).join('\n')), 5_000, 'the launch line');
    const serverPid = Number(launched[1]);
    expect(Number(readFileSync(join(dir, 'run/server.pid'), 'utf8'))).toBe(serverPid);
    const state = await engine.state();
    expect(state.state).toBe('running');
    expect(state.pids[0]).toBe(serverPid);

    await engine.stop(signal());
    expect(isAlive(serverPid)).toBe(false);
    expect((await engine.state()).state).toBe('stopped');
  });

  it('escalates to SIGKILL when the process ignores SIGTERM for stopTimeout', async () => {
    const { port, engine } = await setup({ stopTimeout: '400ms' }, ['--ignore-sigterm']);
    await engine.start(signal());
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${port}/health`)) === 200, 5_000, 'health');
    const { pids } = await engine.state();

    const t0 = Date.now();
    await engine.stop(signal());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(pids.some(isAlive)).toBe(false);
    expect((await engine.logs(5)).join('\n')).toContain('ignoring SIGTERM');
    expect((await engine.state()).state).toBe('stopped');
  });

  it('stops with the stop script when one is configured', async () => {
    const dir = tempDir(tag);
    dirs.push(dir);
    const port = await freePort();
    writeScript(join(dir, 'stop.sh'), '#!/bin/sh\necho "stop.sh: stopping" >> model.log\nkill "$(cat model.pid)"\n');
    const engine = createEngine(
      modelRef('chat-stop', { kind: 'script', cwd: dir, start: process.execPath, args: [MODEL_SERVER, '--port', String(port), '--model-id', tag], stop: './stop.sh', pidFile: 'model.pid', logFile: 'model.log' }),
      { logger },
    );
    await engine.start(signal());
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${port}/health`)) === 200, 5_000, 'health');
    const { pids } = await engine.state();
    await engine.stop(signal());
    expect(pids.some(isAlive)).toBe(false);
    expect((await engine.logs(10)).join('\n')).toMatch(/stop\.sh: stopping[\s\S]*SIGTERM, shutting down/);
  });

  it('treats a pid file whose process is gone as stopped, and starts over it', async () => {
    const { port, engine } = await setup();
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    mkdirSync(dirname(engine.pidFile), { recursive: true });
    writeFileSync(engine.pidFile, `${deadPid}\n`);

    expect(await engine.state()).toEqual({ state: 'stopped', pids: [], detail: `not running (stale pid file, pid ${deadPid})` });
    await engine.stop(signal());
    expect(existsSync(engine.pidFile)).toBe(false);

    writeFileSync(engine.pidFile, `${deadPid}\n`);
    await engine.start(signal());
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${port}/health`)) === 200, 5_000, 'health');
    expect(Number(readFileSync(engine.pidFile, 'utf8'))).not.toBe(deadPid);
    await engine.stop(signal());
  });

  it('fails with a UserError when the start script cannot be run', async () => {
    const { engine } = await setup({ start: 'bin/missing.sh' });
    const err = await engine.start(signal()).catch((e: unknown) => e);
    expect(isUserError(err) && err.kind).toBe('failed');
    expect(String((err as Error).message)).toContain('bin/missing.sh');
    expect((await engine.state()).state).toBe('stopped');
  });
});
