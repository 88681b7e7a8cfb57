#!/usr/bin/env node
// A tiny OpenAI-compatible model server that behaves like llama-server where labops looks:
// GET /health answers 503 {"status":"loading model"} while loading and 200 {"status":"ok"} when ready.
//   --port <n>            0 (default) picks a free port; the startup line says which
//   --model-id <id>       the id in /v1/models (default "test-model")
//   --slow-start <ms>     503 until then
//   --crash-on-start      print an error line and exit 1
//   --never-healthy       stay "loading" forever
//   --pid-file <path>     write the pid there (removed on exit)
//   --ignore-sigterm      ignore SIGTERM (for SIGKILL escalation tests)
import { createServer } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';

const opts = parseArgs(process.argv.slice(2));
const modelId = opts['model-id'] ?? 'test-model';
const startedAt = Date.now();
const readyAt = opts['never-healthy'] ? Infinity : startedAt + Number(opts['slow-start'] ?? 0);

console.log(`model-server: loading model ${modelId} (pid ${process.pid})`);
if (opts['pid-file']) writeFileSync(opts['pid-file'], `${process.pid}\n`);
if (opts['crash-on-start']) {
  console.error(`model-server: error: failed to load model '${modelId}': out of memory`);
  cleanup();
  process.exit(1);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const ready = Date.now() >= readyAt;
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /health') return ready ? send(res, 200, { status: 'ok' }) : send(res, 503, { status: 'loading model' });
  if (!ready) return send(res, 503, { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
  if (route === 'GET /v1/models' || route === 'GET /models') {
    return send(res, 200, { object: 'list', data: [{ id: modelId, object: 'model', created: Math.floor(startedAt / 1000), owned_by: 'llamacpp' }] });
  }
  if (route === 'POST /v1/chat/completions' || route === 'POST /v1/embeddings') {
    return readJson(req).then(
      (body) => (url.pathname.endsWith('embeddings') ? embeddings(res, body) : chat(res, body)),
      () => send(res, 400, { error: { code: 400, message: 'invalid JSON', type: 'invalid_request_error' } }),
    );
  }
  send(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
});

server.listen(Number(opts.port ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`model-server: listening on http://127.0.0.1:${port} model=${modelId} pid=${process.pid}`);
});

process.on('SIGTERM', () => {
  if (opts['ignore-sigterm']) return console.log('model-server: ignoring SIGTERM');
  console.log('model-server: SIGTERM, shutting down');
  server.close();
  server.closeAllConnections?.();
  cleanup();
  process.exit(0);
});
process.on('SIGINT', () => process.emit('SIGTERM'));

function chat(res, body) {
  const content = 'ok';
  const created = Math.floor(Date.now() / 1000);
  const id = `chatcmpl-${created}${Math.floor(Math.random() * 1e6)}`;
  const usage = { prompt_tokens: countTokens(body.messages), completion_tokens: 1, total_tokens: countTokens(body.messages) + 1 };
  if (body.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = (delta, finish) => ({ id, object: 'chat.completion.chunk', created, model: modelId, choices: [{ index: 0, delta, finish_reason: finish }] });
    res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content }, null))}\n\n`);
    res.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
    return res.end('data: [DONE]\n\n');
  }
  send(res, 200, {
    id,
    object: 'chat.completion',
    created,
    model: modelId,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: body.max_tokens === 1 ? 'length' : 'stop' }],
    usage,
  });
}

function embeddings(res, body) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input ?? ''];
  const data = inputs.map((text, index) => ({ object: 'embedding', index, embedding: vector(String(text)) }));
  const tokens = inputs.reduce((n, t) => n + String(t).split(/\s+/).length, 0);
  send(res, 200, { object: 'list', data, model: modelId, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

/** A deterministic, normalised 8-dimensional vector. */
function vector(text) {
  const v = Array.from({ length: 8 }, (_, i) => Math.sin((i + 1) * (text.length + 1) + [...text].reduce((a, c) => a + c.charCodeAt(0), 0)));
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

function countTokens(messages) {
  return Array.isArray(messages) ? messages.reduce((n, m) => n + String(m?.content ?? '').split(/\s+/).length, 0) : 0;
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(text || '{}'));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function cleanup() {
  if (opts['pid-file']) rmSync(opts['pid-file'], { force: true });
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else out[key] = argv[++i];
  }
  return out;
}
