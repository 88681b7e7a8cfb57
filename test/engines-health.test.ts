import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isUserError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createEngine, probeHealth, waitHealthy } from '../src/engines/index.js';
import { freePort, killTagged, modelRef, MODEL_SERVER, removeDir, tempDir, uniqueTag } from './support/engines-helpers.js';

const tag = uniqueTag('health');
const dirs: string[] = [];
const logger = silentLogger();

/** A script-engine model running model-server.mjs with `args`, probed on /health. */
async function scriptModel(args: string[], health: Record<string, unknown> = {}) {
  const dir = tempDir(tag);
  dirs.push(dir);
  const port = await freePort();
  const ref = modelRef(
    'chat-health',
    { kind: 'script', cwd: dir, start: process.execPath, args: [MODEL_SERVER, '--port', String(port), '--model-id', tag, ...args], pidFile: 'model.pid', logFile: 'model.log', stopTimeout: '1s' },
    { url: `http://127.0.0.1:${port}/health`, ...health },
  );
  return { port, ref, engine: createEngine(ref, { logger }) };
}

/** A throwaway HTTP server that answers every request with `status` and `body`. */
async function answer(status: number, body: unknown): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
const servers: Server[] = [];

afterEach(() => {
  killTagged(tag);
  servers.splice(0).forEach((s) => (s.closeAllConnections(), s.close()));
});
afterAll(() => {
  killTagged(tag);
  dirs.forEach(removeDir);
});

describe('probeHealth', () => {
  it('is healthy on 200 and says why not otherwise', async () => {
    const ok = await answer(200, { status: 'ok' });
    const loading = await answer(503, { status: 'loading model' });
    const broken = await answer(500, { error: { message: 'boom' } });
    const probe = (url: string) => probeHealth(modelRef('m', { kind: 'docker', container: 'x' }, { url }));
    expect(await probe(`${ok.url}/health`)).toEqual({ healthy: true, detail: `${ok.url}/health: 200` });
    expect(await probe(`${loading.url}/health`)).toEqual({ healthy: false, detail: `${loading.url}/health: 503 loading model` });
    expect(await probe(`${broken.url}/health`)).toEqual({ healthy: false, detail: `${broken.url}/health: 500 boom` });
    const port = await freePort();
    expect(await probe(`http://127.0.0.1:${port}/health`)).toEqual({ healthy: false, detail: `http://127.0.0.1:${port}/health: connection refused` });
  });

  it('checks that a models URL lists the id', async () => {
    const models = await answer(200, { object: 'list', data: [{ id: 'Qwen/Qwen2.5-0.5B-Instruct', object: 'model' }] });
    const probe = (id: string) => probeHealth(modelRef('chat-qwen', { kind: 'docker', container: 'x' }, { modelsUrl: `${models.url}/v1/models`, id }));
    expect((await probe('Qwen/Qwen2.5-0.5B-Instruct')).healthy).toBe(true);
    expect(await probe('other')).toEqual({ healthy: false, detail: `${models.url}/v1/models does not list other (it lists Qwen/Qwen2.5-0.5B-Instruct)` });
  });

  it('gives up on a probe after health.timeout', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    const t0 = Date.now();
    const result = await probeHealth(modelRef('m', { kind: 'docker', container: 'x' }, { url, timeout: 300 }));
    expect(result).toEqual({ healthy: false, detail: `${url}: no answer in 300 ms` });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('redacts a password in the URL', async () => {
    const port = await freePort();
    const result = await probeHealth(modelRef('m', { kind: 'docker', container: 'x' }, { url: `http://admin:hunter22@127.0.0.1:${port}/health` }));
    expect(result.detail).not.toContain('hunter22');
  });
});

describe('waitHealthy', () => {
  it('waits through a slow start, reporting progress', async () => {
    const { ref, engine } = await scriptModel(['--slow-start', '1500']);
    const progress: string[] = [];
    await engine.start(AbortSignal.timeout(10_000));
    const ready = await waitHealthy(ref, engine, { signal: AbortSignal.timeout(10_000), intervalMs: 200, onProgress: (t) => progress.push(t) });
    expect(ready.elapsedMs).toBeGreaterThanOrEqual(1_000);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toMatch(/^waiting for health \d+ s \(.*503 loading model\)$/);
    await engine.stop(AbortSignal.timeout(5_000));
  });

  it('fails early with the last log lines when the process dies while starting', async () => {
    const { ref, engine } = await scriptModel(['--crash-on-start']);
    await engine.start(AbortSignal.timeout(10_000));
    const t0 = Date.now();
    const err = await waitHealthy(ref, engine, { signal: AbortSignal.timeout(10_000), intervalMs: 100 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(isUserError(err) && err.kind).toBe('failed');
    expect((err as Error).message).toMatch(/^chat-health exited while starting\.\nLast log lines:\n/);
    expect((err as Error).message).toContain(`model-server: error: failed to load model '${tag}': out of memory`);
  });

  it('fails with a UserError after the timeout when the model never gets healthy', async () => {
    const { ref, engine } = await scriptModel(['--never-healthy']);
    await engine.start(AbortSignal.timeout(10_000));
    const err = await waitHealthy(ref, engine, { signal: AbortSignal.timeout(10_000), timeoutMs: 800, intervalMs: 200 }).catch((e: unknown) => e);
    expect(isUserError(err) && err.kind).toBe('failed');
    expect((err as Error).message).toMatch(/^chat-health is not healthy after 1 s: .*503 loading model\.\nLast log lines:\n.*loading model/);
    expect((await engine.state()).state).toBe('running');
    await engine.stop(AbortSignal.timeout(5_000));
  });

  it('defaults the timeout to health.startTimeout and honours the abort signal', async () => {
    const { ref, engine } = await scriptModel(['--never-healthy'], { startTimeout: 600 });
    await engine.start(AbortSignal.timeout(10_000));
    await expect(waitHealthy(ref, engine, { signal: AbortSignal.timeout(10_000), intervalMs: 100 })).rejects.toThrow(/not healthy after 1 s/);

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job cancelled')), 300);
    await expect(waitHealthy(ref, engine, { signal: controller.signal, timeoutMs: 10_000 })).rejects.toThrow('job cancelled');
    await engine.stop(AbortSignal.timeout(5_000));
  });
});
