import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isUserError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createEngine, DockerEngine, waitHealthy } from '../src/engines/index.js';
import { emptyPathEnv, fakeDockerEnv, freePort, isAlive, killTagged, modelRef, removeDir, tempDir, uniqueTag, writeModelContainer } from './support/engines-helpers.js';

const tag = uniqueTag('docker');
const dirs: string[] = [];
const logger = silentLogger();
const signal = () => AbortSignal.timeout(20_000);

async function setup(serverArgs: string[] = []) {
  const dir = tempDir(tag);
  dirs.push(dir);
  const env = fakeDockerEnv(dir);
  const port = await freePort();
  const container = `${tag}-${dirs.length}`;
  writeModelContainer(env, container, ['--port', String(port), '--model-id', tag, ...serverArgs]);
  const ref = modelRef('embeddings-docker', { kind: 'docker', container }, { url: `http://127.0.0.1:${port}/health` });
  return { env, port, container, ref, engine: createEngine(ref, { logger, env }) };
}

afterEach(() => {
  killTagged(tag);
});
afterAll(() => {
  killTagged(tag);
  dirs.forEach(removeDir);
});

describe('docker engine (fake docker CLI)', () => {
  it('starts, inspects, reads logs from both streams in order, and stops a container', async () => {
    const { ref, engine, port } = await setup();
    expect(engine).toBeInstanceOf(DockerEngine);
    expect(await engine.state()).toEqual({ state: 'stopped', pids: [], detail: 'created' });

    await engine.start(signal());
    const state = await engine.state();
    expect(state.state).toBe('running');
    expect(isAlive(state.pids[0]!)).toBe(true);
    await waitHealthy(ref, engine, { signal: signal() });

    const logs = await engine.logs(10);
    expect(logs.join('\n')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]{18}Z model-server: loading model[\s\S]*listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(logs.join('\n')).toContain(String(port));

    await engine.stop(signal());
    expect(isAlive(state.pids[0]!)).toBe(false);
    expect(await engine.state()).toEqual({ state: 'stopped', pids: [] });
  });

  it('reports a container that exited with an error as failed, with its logs', async () => {
    const { ref, engine } = await setup(['--crash-on-start']);
    await engine.start(signal());
    const err = await waitHealthy(ref, engine, { signal: signal() }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/failed while starting \(exited with 1\)\.[\s\S]*failed to load model/);
  });

  it('says what is wrong when docker, its daemon or the container is missing', async () => {
    const { env } = await setup();
    const dir = tempDir(tag);
    dirs.push(dir);
    const ref = modelRef('m', { kind: 'docker', container: 'absent' });
    expect(await createEngine(ref, { logger, env: emptyPathEnv(dir) }).state()).toEqual({ state: 'unknown', pids: [], detail: 'docker not available' });
    expect(await createEngine(ref, { logger, env: { ...env, FAKE_DOCKER_DOWN: '1' } }).state()).toEqual({ state: 'unknown', pids: [], detail: 'docker daemon not reachable' });
    expect(await createEngine(ref, { logger, env }).state()).toEqual({ state: 'unknown', pids: [], detail: 'container absent does not exist' });

    const missing = await createEngine(ref, { logger, env: emptyPathEnv(dir) }).start(signal()).catch((e: unknown) => e);
    expect(isUserError(missing) && missing.kind).toBe('unavailable');
    const absent = await createEngine(ref, { logger, env }).start(signal()).catch((e: unknown) => e);
    expect(isUserError(absent) && absent.kind).toBe('failed');
    expect((absent as Error).message).toBe('docker start absent failed: Error response from daemon: No such container: absent');
  });
});
