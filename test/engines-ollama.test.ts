import { afterEach, describe, expect, it } from 'vitest';
import { isUserError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { createEngine, OllamaEngine, waitHealthy } from '../src/engines/index.js';
import { unloadsIn } from '../src/engines/ollama.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { freePort, modelRef } from './support/engines-helpers.js';

const logger = silentLogger();
const signal = () => AbortSignal.timeout(10_000);
let ollama: FakeOllama | undefined;

async function setup(engine: Record<string, unknown> = {}) {
  ollama = await startFakeOllama({ models: [{ name: 'mistral:7b', vramMiB: 5200 }, { name: 'qwen3-vl:4b', vramMiB: 6000 }, { name: 'tinyllama' }] });
  const ref = modelRef('chat-mistral-7b-ollama', { kind: 'ollama', url: ollama.url, model: 'mistral:7b', ...engine });
  return { ref, engine: createEngine(ref, { logger }), fake: ollama };
}

afterEach(async () => {
  await ollama?.close();
  ollama = undefined;
});

describe('ollama engine (fake Ollama)', () => {
  it('loads with an empty generate and keep_alive, reads /api/ps, unloads with keep_alive 0', async () => {
    const { engine, fake } = await setup();
    expect(engine).toBeInstanceOf(OllamaEngine);
    expect(await engine.state()).toEqual({ state: 'stopped', pids: [] });

    await engine.start(signal());
    expect(fake.requests.at(-1)).toEqual({ method: 'POST', path: '/api/generate', body: { model: 'mistral:7b', keep_alive: '5m', stream: false } });
    expect(fake.loaded()).toEqual(['mistral:7b']);
    expect(await engine.state()).toEqual({ state: 'running', pids: [], vramMiB: 5200, detail: 'unloads in 5 min' });

    await engine.stop(signal());
    expect(fake.requests.at(-1)?.body).toEqual({ model: 'mistral:7b', keep_alive: 0, stream: false });
    expect(fake.loaded()).toEqual([]);
    expect((await engine.state()).state).toBe('stopped');
  });

  it('sees the model go when its keep_alive expires', async () => {
    const { engine } = await setup({ keepAlive: '300ms' });
    await engine.start(signal());
    expect((await engine.state()).state).toBe('running');
    await new Promise((r) => setTimeout(r, 400));
    expect((await engine.state()).state).toBe('stopped');
  });

  it('is healthy without a probe once /api/ps lists it; an untagged name means :latest', async () => {
    const { fake } = await setup();
    const ref = modelRef('chat-tiny', { kind: 'ollama', url: fake.url, model: 'tinyllama' });
    const engine = createEngine(ref, { logger });
    await engine.start(signal());
    expect(fake.loaded()).toEqual(['tinyllama:latest']);
    const ready = await waitHealthy(ref, engine, { signal: signal() });
    expect(ready.detail).toMatch(/^running \(unloads in 5 min\)$/);
  });

  it('fails with a hint when the model is not pulled', async () => {
    const { fake } = await setup();
    const engine = createEngine(modelRef('chat-x', { kind: 'ollama', url: fake.url, model: 'nope:1b' }), { logger });
    const err = await engine.start(signal()).catch((e: unknown) => e);
    expect(isUserError(err) && err.kind).toBe('failed');
    expect((err as Error).message).toBe("Ollama could not load nope:1b: model 'nope:1b' not found");
    expect(isUserError(err) && err.hint).toBe('Pull it first: ollama pull nope:1b');
  });

  it('says Ollama is unreachable when it is down, for state, start and stop', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const engine = createEngine(modelRef('chat-mistral', { kind: 'ollama', url, model: 'mistral:7b' }), { logger });
    expect(await engine.state()).toEqual({ state: 'unknown', pids: [], detail: `Ollama at ${url} is unreachable` });
    for (const action of [() => engine.start(signal()), () => engine.stop(signal())]) {
      const err = await action().catch((e: unknown) => e);
      expect(isUserError(err) && err.kind).toBe('unavailable');
      expect((err as Error).message).toBe(`Ollama at ${url} is unreachable (connection refused).`);
    }
  });

  it('describes expires_at', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(unloadsIn('2025-01-01T12:04:31Z', now)).toBe('unloads in 5 min');
    expect(unloadsIn('2025-01-01T12:00:20Z', now)).toBe('unloads in 20 s');
    expect(unloadsIn('2025-01-01T11:59:00Z', now)).toBe('unloading');
    expect(unloadsIn('2318-01-01T00:00:00Z', now)).toBe('kept loaded');
  });
});
