import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for Ollama's HTTP API (https://github.com/ollama/ollama/blob/main/docs/api.md) where
 * labops touches it: an empty /api/generate loads a model for `keep_alive` (done_reason "load"),
 * `keep_alive: 0` unloads it ("unload"), /api/ps lists what is loaded with size_vram and
 * expires_at, /api/tags what is installed. A loaded model is dropped once its keep_alive expires.
 */
export interface FakeOllamaModel {
  /** e.g. "mistral:7b"; a name without a tag means ":latest" */
  name: string;
  /** VRAM it takes when loaded, MiB (default 4096) */
  vramMiB?: number;
  family?: string;
}

export interface FakeOllama {
  url: string;
  port: number;
  /** names of the loaded models now */
  loaded(): string[];
  /** every request seen: method, path and parsed JSON body */
  requests: { method: string; path: string; body: unknown }[];
  close(): Promise<void>;
}

interface Loaded {
  model: Required<FakeOllamaModel>;
  expiresAt: number;
}

const MiB = 1024 * 1024;
const FOREVER = Date.parse('2318-01-01T00:00:00Z');

export async function startFakeOllama(opts: { models?: FakeOllamaModel[]; port?: number; loadDelayMs?: number } = {}): Promise<FakeOllama> {
  const installed = new Map(
    (opts.models ?? [{ name: 'mistral:7b' }]).map((m) => [tagged(m.name), { name: tagged(m.name), vramMiB: m.vramMiB ?? 4096, family: m.family ?? 'llama' }]),
  );
  const loaded = new Map<string, Loaded>();
  const requests: FakeOllama['requests'] = [];

  const expire = () => {
    for (const [name, entry] of loaded) if (entry.expiresAt <= Date.now()) loaded.delete(name);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    requests.push({ method: req.method ?? 'GET', path, body });
    expire();
    const route = `${req.method} ${path}`;
    if (route === 'GET /' || route === 'HEAD /') return text(res, 200, 'Ollama is running');
    if (route === 'GET /api/version') return json(res, 200, { version: '0.12.0' });
    if (route === 'GET /api/tags') return json(res, 200, { models: [...installed.values()].map((m) => ({ ...describe(m), modified_at: new Date(0).toISOString() })) });
    if (route === 'GET /api/ps') {
      return json(res, 200, {
        models: [...loaded.values()].map(({ model, expiresAt }) => ({ ...describe(model), expires_at: new Date(expiresAt).toISOString(), size_vram: model.vramMiB * MiB, context_length: 4096 })),
      });
    }
    if (route === 'POST /api/generate') {
      const b = (body ?? {}) as { model?: string; prompt?: string; keep_alive?: string | number; stream?: boolean };
      if (body === null || !b.model) return json(res, 400, { error: 'model is required' });
      const model = installed.get(tagged(b.model));
      if (!model) return json(res, 404, { error: `model '${b.model}' not found` });
      const keepMs = keepAliveMs(b.keep_alive);
      if (keepMs === null) return json(res, 400, { error: `time: invalid duration "${String(b.keep_alive)}"` });
      const base = { model: b.model, created_at: new Date().toISOString(), response: '', done: true };
      if (keepMs === 0) {
        loaded.delete(model.name);
        return json(res, 200, { ...base, done_reason: 'unload' });
      }
      if (!loaded.has(model.name) && opts.loadDelayMs) await new Promise((r) => setTimeout(r, opts.loadDelayMs));
      loaded.set(model.name, { model, expiresAt: keepMs < 0 ? FOREVER : Date.now() + keepMs });
      if (!b.prompt) return json(res, 200, { ...base, done_reason: 'load' });
      return json(res, 200, { ...base, response: 'ok', done_reason: 'stop', prompt_eval_count: 1, eval_count: 1 });
    }
    json(res, 404, { error: '404 page not found' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { error: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    loaded: () => (expire(), [...loaded.keys()]),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function tagged(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

function describe(m: Required<FakeOllamaModel>) {
  return {
    name: m.name,
    model: m.name,
    size: m.vramMiB * MiB,
    digest: Buffer.from(m.name).toString('hex').padEnd(64, '0').slice(0, 64),
    details: { parent_model: '', format: 'gguf', family: m.family, families: [m.family], parameter_size: '7B', quantization_level: 'Q4_K_M' },
  };
}

/** Ollama's keep_alive: a number of seconds or a Go duration ("5m", "1h30m"); negative keeps the model loaded; absent is 5m. */
export function keepAliveMs(value: unknown): number | null {
  if (value === undefined || value === null) return 5 * 60_000;
  if (typeof value === 'number') return value * 1000;
  if (typeof value !== 'string') return null;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const sign = value.startsWith('-') ? -1 : 1;
  let total = 0;
  const rest = value.replace(/^[-+]/, '').replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n: string, u: string) => {
    total += Number(n) * units[u]!;
    return '';
  });
  return rest === '' ? sign * total : null;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      try {
        resolve(body ? JSON.parse(body) : {});
      } catch {
        resolve(null);
      }
    });
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}
