import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isUserError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createEngine, SystemdEngine, waitHealthy } from '../src/engines/index.js';
import {
  emptyPathEnv,
  fakeSystemctl,
  fakeSystemdEnv,
  freePort,
  isAlive,
  killTagged,
  modelRef,
  removeDir,
  tempDir,
  uniqueTag,
  writeModelUnit,
} from './support/engines-helpers.js';

const tag = uniqueTag('systemd');
const dirs: string[] = [];
const logger = silentLogger();
const signal = () => AbortSignal.timeout(20_000);

async function setup(serverArgs: string[] = []) {
  const dir = tempDir(tag);
  dirs.push(dir);
  const env = fakeSystemdEnv(dir);
  const port = await freePort();
  const unit = `${tag}-${dirs.length}.service`;
  const unitFile = writeModelUnit(env, unit, ['--port', String(port), '--model-id', tag, ...serverArgs]);
  const ref = modelRef('chat-unit', { kind: 'systemd', unit }, { url: `http://127.0.0.1:${port}/health`, startTimeout: 5_000 });
  const engine = createEngine(ref, { logger, env });
  if (!(engine instanceof SystemdEngine)) throw new Error('expected a SystemdEngine');
  return { dir, env, port, unit, unitFile, ref, engine };
}

afterEach(() => {
  killTagged(tag);
});
afterAll(() => {
  killTagged(tag);
  dirs.forEach(removeDir);
});

describe('systemd engine (fake systemctl/journalctl running a real unit file)', () => {
  it('starts the unit, reports MainPID, reads the journal and stops it', async () => {
    const { ref, engine, unit, port } = await setup();
    expect(await engine.state()).toEqual({ state: 'stopped', pids: [] });

    await engine.start(signal());
    const state = await engine.state();
    expect(state.state).toBe('running');
    expect(state.pids.length).toBeGreaterThan(0);
    expect(isAlive(state.pids[0]!)).toBe(true);

    const ready = await waitHealthy(ref, engine, { signal: signal() });
    expect(ready.detail).toContain('200');

    const logs = await engine.logs(20);
    expect(logs.join('\n')).toContain(`listening on http://127.0.0.1:${port}`);
    expect(logs.at(-1)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d \S+ \S+\[\d+\]: /);
    expect(logs.join('\n')).toContain(`Started labops test model ${unit}.`);

    await engine.stop(signal());
    expect(isAlive(state.pids[0]!)).toBe(false);
    expect(await engine.state()).toEqual({ state: 'stopped', pids: [] });
    expect((await engine.logs(5)).join('\n')).toContain('SIGTERM, shutting down');
  });

  it('reports a unit whose process crashed as failed, with its exit status and log', async () => {
    const { ref, engine, unit } = await setup(['--crash-on-start']);
    await engine.start(signal());
    const err = await waitHealthy(ref, engine, { signal: signal() }).catch((e: unknown) => e);
    expect(isUserError(err) && err.kind).toBe('failed');
    const message = (err as Error).message;
    expect(message).toContain('chat-unit failed while starting (exited with 1).');
    expect(message).toContain('Last log lines:');
    expect(message).toContain("failed to load model");
    expect(message).toContain(`${unit}: Main process exited, code=exited, status=1/FAILURE`);
    expect(await engine.state()).toEqual({ state: 'failed', pids: [], detail: 'exited with 1' });
  });

  it('tells whether the unit starts at boot and disables it', async () => {
    const { env, engine, unit } = await setup();
    expect(await engine.isEnabled()).toBe(false);
    expect(fakeSystemctl(env, ['enable', unit]).status).toBe(0);
    const link = join(env.XDG_CONFIG_HOME!, 'systemd', 'user', 'default.target.wants', unit);
    expect(existsSync(link)).toBe(true);
    expect(await engine.isEnabled()).toBe(true);

    expect(await engine.disable()).toEqual([`Removed '${link}'.`]);
    expect(existsSync(link)).toBe(false);
    expect(await engine.isEnabled()).toBe(false);
  });

  it('says when the unit is not installed', async () => {
    const { env } = await setup();
    const engine = createEngine(modelRef('ghost', { kind: 'systemd', unit: `${tag}-ghost.service` }), { logger, env });
    expect(await engine.state()).toMatchObject({ state: 'unknown', detail: `unit ${tag}-ghost.service is not installed` });
    const err = await engine.start(signal()).catch((e: unknown) => e);
    expect(isUserError(err) && err.kind).toBe('failed');
    expect((err as Error).message).toContain(`Unit ${tag}-ghost.service not found.`);
  });

  it('reports "systemd not available" where there is no systemctl, and refuses to start', async () => {
    const dir = tempDir(tag);
    dirs.push(dir);
    const engine = createEngine(modelRef('chat-unit', { kind: 'systemd', unit: 'llama.service' }), { logger, env: emptyPathEnv(dir) }) as SystemdEngine;
    expect(await engine.state()).toEqual({ state: 'unknown', pids: [], detail: 'systemd not available' });
    expect(await engine.logs(10)).toEqual([]);
    for (const action of [() => engine.start(signal()), () => engine.stop(signal()), () => engine.isEnabled()]) {
      const err = await action().catch((e: unknown) => e);
      expect(isUserError(err) && err.kind).toBe('unavailable');
      expect((err as Error).message).toMatch(/systemd is not available on this host/);
    }
  });

  it('reports "systemd not available" where systemctl cannot reach a user manager', async () => {
    const { env } = await setup();
    const engine = createEngine(modelRef('chat-unit', { kind: 'systemd', unit: 'llama.service' }), { logger, env: { ...env, XDG_RUNTIME_DIR: '' } });
    expect(await engine.state()).toEqual({ state: 'unknown', pids: [], detail: 'systemd not available' });
  });
});
