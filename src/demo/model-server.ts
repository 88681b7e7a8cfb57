import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

/**
 * The demo's model servers: a tiny OpenAI-compatible server per model, like llama-server where
 * labops looks (`GET /health`, `GET /v1/models`), answering without a GPU:
 * - `--kind chat`: every completion is the same short text;
 * - `--kind vision`: the same, and it says whether the message carried an image;
 * - `--kind embeddings`: an 8-number vector per input, the same for the same text.
 * `node model-server.js --port <n> --model-id <id> --kind chat|vision|embeddings [--tag <t>]`; stops on SIGTERM.
 */
type Kind = 'chat' | 'vision' | 'embeddings';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'model-id': { type: 'string' }, kind: { type: 'string' }, tag: { type: 'string' } } });
const modelId = values['model-id'] ?? 'demo-model';
const kind = (['chat', 'vision', 'embeddings'].includes(values.kind ?? '') ? values.kind : 'chat') as Kind;
const created = Math.floor(Date.now() / 1000);

const server = createServer((req, res) => {
  const route = `${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`;
  if (route === 'GET /health') return send(res, 200, { status: 'ok' });
  if (route === 'GET /v1/models' || route === 'GET /models') return send(res, 200, { object: 'list', data: [{ id: modelId, object: 'model', created, owned_by: 'labops-demo' }] });
  const post = kind === 'embeddings' ? ['POST /v1/embeddings', 'POST /embeddings'] : ['POST /v1/chat/completions', 'POST /chat/completions'];
  if (!post.includes(route)) return send(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
  readJson(req).then(
    (body) => send(res, 200, kind === 'embeddings' ? embeddings(body) : completion(body)),
    () => send(res, 400, { error: { code: 400, message: 'invalid JSON', type: 'invalid_request_error' } }),
  );
});

function completion(body: Record<string, unknown>): unknown {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const image = messages.some((m) => Array.isArray((m as { content?: unknown }).content) && ((m as { content: { type?: unknown }[] }).content).some((c) => c.type === 'image_url'));
  const full = kind === 'vision' ? (image ? 'A tiny picture, seen by the demo vision model.' : 'Send me an image.') : `Hello from ${modelId}, the demo's local model.`;
  const maxTokens = typeof body.max_tokens === 'number' && body.max_tokens > 0 ? body.max_tokens : Infinity;
  const words = full.split(' ');
  const content = words.slice(0, maxTokens).join(' ');
  return {
    id: `chatcmpl-demo-${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: modelId,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: words.length > maxTokens ? 'length' : 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: Math.min(words.length, maxTokens), total_tokens: 1 + Math.min(words.length, maxTokens) },
  };
}

function embeddings(body: Record<string, unknown>): unknown {
  const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
  const vector = (text: string) => Array.from({ length: 8 }, (_, i) => ((text.charCodeAt(i % Math.max(1, text.length)) || 1) % 17) / 17);
  return { object: 'list', model: modelId, data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: vector(text) })), usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      try {
        const json = JSON.parse(text || '{}') as unknown;
        resolve(typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {});
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    req.on('error', reject);
  });
}

server.listen(Number(values.port ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`demo model server ${modelId} (${kind}) listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : '?'}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
