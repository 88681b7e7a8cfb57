/**
 * The HTTP side of the fake: a node:http server that parses Discord REST requests (JSON or
 * multipart with `payload_json` and `files[n]`), checks the bot token, applies injected failures
 * and delays, hands the request to the matching route, and records every call with its answer.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Upload } from './messages.js';
import type { FakeState, Wire } from './state.js';
import { ApiError, Errors } from './validate.js';

export type RecordedFile = Upload;

/** One REST request the fake answered. */
export interface RecordedCall {
  /** Increasing number, in the order the calls were answered. */
  seq: number;
  /** Wall-clock time (ms) the request arrived. */
  time: number;
  method: string;
  /** Path without the query, e.g. `/api/v10/channels/123/messages`. */
  path: string;
  /** The route template, without `/api/v10`, e.g. `/channels/:channel/messages`; '' when nothing matched. */
  route: string;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: { authorization?: string; contentType?: string; userAgent?: string; auditLogReason?: string };
  /** The JSON body (for multipart, the parsed `payload_json`); undefined when there was none. */
  body: Wire;
  /** Files uploaded with a multipart body, with their bytes. */
  files: RecordedFile[];
  status: number;
  /** The JSON the fake answered (undefined for 204). */
  response: Wire;
  responseHeaders: Record<string, string>;
  /** The answer came from failNext() rather than from the route (with `processed`, the route ran too: see `note`). */
  injected: boolean;
  /** The message part of the body (the body itself, or `body.data` for callbacks 4 and 7). */
  message?: Wire;
  /** The interaction this call answered or edited (callback and webhook routes). */
  interactionId?: string;
  /** Extra notes, e.g. 'nonce-deduplicated', or 'processed' for an injected 5xx whose request took effect. */
  note?: string;
}

export interface RouteContext {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Wire;
  files: RecordedFile[];
  /** The record being built; routes set `message`, `interactionId` and `note` on it. */
  call: RecordedCall;
}

export interface RouteResult {
  status: number;
  body?: Wire;
  headers?: Record<string, string>;
  /** Raw bytes instead of JSON (attachments). */
  raw?: { data: Buffer; contentType: string };
}

export interface RouteDef {
  method: string;
  /** Template such as `/channels/:channel/messages`; literal segments like `@original` win over params by order. */
  pattern: string;
  /** Requires `Authorization: Bot <token>` (interaction callbacks and webhook routes do not). */
  auth: boolean;
  handle(ctx: RouteContext): RouteResult | ApiError;
}

export interface FailureOptions {
  /** How many consecutive matching calls fail (default 1); `Infinity` until the rule is cancelled (a storm). */
  times?: number;
  /** Seconds, for 429 (default 1). Sent as `Retry-After` (rounded up to whole seconds, as Discord does), `X-RateLimit-Reset-After` and `retry_after`. */
  retryAfter?: number;
  /** The same in milliseconds (give one of the two). */
  retryAfterMs?: number;
  /** A global rate limit (`X-RateLimit-Global: true`, scope `global`). */
  global?: boolean;
  /** `X-RateLimit-Scope` (default `user`, or `global`). */
  scope?: 'user' | 'shared' | 'global';
  /** `X-RateLimit-Bucket` (default: a hash of the route, so each route has its own bucket). */
  bucket?: string;
  /** `X-RateLimit-Limit` (default 5). */
  limit?: number;
  /** A `code` in the 429 body (Discord's body is `{ message, retry_after, global }`, some limits add `code`). */
  code?: number;
  /**
   * 5xx only: the request takes effect (the route runs: a message is stored, an interaction
   * acknowledged) but its answer is lost and replaced by the failure, like a 502 from Discord's edge
   * after the backend did the work. The call is recorded with `note: 'processed'`.
   */
  processed?: boolean;
  /** Replace the JSON body of the failure. */
  body?: Wire;
}

/** What a failure answers: the status with its options (`failNext(route, { status: 429, retryAfterMs: 300 }, 2)`). */
export type Fault = { status: number } & Omit<FailureOptions, 'times'>;

/** A failure or delay added by failNext/delayNext. */
export interface FaultRule {
  /** Matching calls it has answered (or delayed) so far. */
  readonly hits: number;
  /** Calls it will still answer (Infinity for a storm; 0 once used up or cancelled). */
  readonly remaining: number;
  /** Ends it: the next matching calls are answered by the routes again. */
  cancel(): void;
}

/**
 * Which calls a failure or delay applies to: `'POST /channels/:channel/messages'`, a template
 * without a method (`'/interactions/:id/:token/callback'`; parameter names do not matter), a
 * concrete path (`'PATCH /webhooks/1/tok/messages/@original'`), a predicate, or a list of these
 * (any of them).
 */
export type RouteSelector = string | ((call: { method: string; route: string; path: string }) => boolean) | RouteSelector[];

interface Injection {
  matches: (method: string, route: string, path: string) => boolean;
  remaining: number;
  hits: number;
  status?: number;
  options?: FailureOptions;
  delayMs?: number;
}

function selectorMatcher(selector: RouteSelector): Injection['matches'] {
  if (Array.isArray(selector)) {
    const all = selector.map(selectorMatcher);
    return (method, route, path) => all.some((m) => m(method, route, path));
  }
  if (typeof selector === 'function') return (method, route, path) => selector({ method, route, path });
  const match = selector.trim().match(/^(?:([A-Za-z]+)\s+)?(\S+)$/);
  if (!match) throw new Error(`fake-discord: bad route selector ${JSON.stringify(selector)}`);
  const wantMethod = match[1]?.toUpperCase();
  const shape = (p: string) => p.replace(/^\/api\/v\d+/, '').replace(/\/:[^/]+/g, '/:');
  const want = shape(match[2] as string);
  return (method, route, path) => (!wantMethod || wantMethod === method) && (want === shape(route) || want === shape(path));
}

function compile(pattern: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = pattern
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { regex: new RegExp(`^${source}$`), names };
}

const HEADER_LIMIT = 60_000;

export class RestServer extends EventEmitter {
  readonly calls: RecordedCall[] = [];
  private readonly server: Server;
  /** Open HTTP sockets, each with a promise settled when its 'close' event has fired. */
  private readonly sockets = new Map<Socket, Promise<void>>();
  private readonly compiled: { def: RouteDef; regex: RegExp; names: string[] }[];
  private injections: Injection[] = [];
  private seq = 0;

  constructor(
    private readonly state: FakeState,
    routes: RouteDef[],
    onUpgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void,
  ) {
    super();
    this.setMaxListeners(0);
    this.compiled = routes.map((def) => ({ def, ...compile(def.pattern) }));
    this.server = createServer({ maxHeaderSize: HEADER_LIMIT }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        console.error('fake-discord: could not answer a request', error);
        res.destroy();
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.set(socket, new Promise((resolve) => socket.once('close', () => resolve(void this.sockets.delete(socket)))));
    });
    this.server.on('upgrade', (req, socket: Socket, head) => {
      this.sockets.delete(socket);
      onUpgrade(req, socket, head);
    });
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('fake-discord: server has no port');
    return address.port;
  }

  /** The seq of the last call answered. */
  get lastSeq(): number {
    return this.seq;
  }

  /** HTTP connections still open (keep-alive sockets of REST clients). */
  get openConnections(): number {
    return this.sockets.size;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const sockets = [...this.sockets.values()];
    this.server.closeAllConnections();
    for (const socket of this.sockets.keys()) socket.destroy();
    await Promise.all([closed, ...sockets]);
  }

  failNext(selector: RouteSelector, status: number, options: FailureOptions = {}): FaultRule {
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`fake-discord: failNext needs a 4xx or 5xx status, not ${status}`);
    if (options.retryAfter !== undefined && options.retryAfterMs !== undefined) throw new Error('fake-discord: give retryAfter (s) or retryAfterMs, not both');
    if (options.processed && status < 500) throw new Error('fake-discord: only a 5xx can be `processed` (Discord does nothing for a 4xx)');
    return this.add({ matches: selectorMatcher(selector), remaining: options.times ?? 1, hits: 0, status, options });
  }

  delayNext(selector: RouteSelector, delayMs: number, times = 1): FaultRule {
    return this.add({ matches: selectorMatcher(selector), remaining: times, hits: 0, delayMs });
  }

  private add(injection: Injection): FaultRule {
    this.injections.push(injection);
    return {
      get hits() {
        return injection.hits;
      },
      get remaining() {
        return injection.remaining;
      },
      cancel: () => {
        injection.remaining = 0;
        this.injections = this.injections.filter((i) => i !== injection);
      },
    };
  }

  /** Drops pending failures and delays. */
  clearInjections(): void {
    this.injections = [];
  }

  private take(kind: 'failure' | 'delay', method: string, route: string, path: string): Injection | undefined {
    const found = this.injections.find((i) => i.remaining > 0 && (kind === 'delay' ? i.delayMs !== undefined : i.status !== undefined) && i.matches(method, route, path));
    if (found) {
      found.remaining--;
      found.hits++;
      this.injections = this.injections.filter((i) => i.remaining > 0);
    }
    return found;
  }

  private failure(injection: Injection, route: string): ApiError {
    const status = injection.status as number;
    const options = injection.options ?? {};
    if (status !== 429) {
      const text = status >= 500 ? `${status}: ${status === 500 ? 'Internal Server Error' : status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Unavailable' : status === 504 ? 'Gateway Timeout' : 'Server Error'}` : `${status}: Injected failure`;
      return new ApiError(status, options.body ?? { message: text, code: 0 });
    }
    const retryAfter = options.retryAfterMs !== undefined ? options.retryAfterMs / 1000 : (options.retryAfter ?? 1);
    const scope = options.global ? 'global' : (options.scope ?? 'user');
    const headers: Record<string, string> = {
      'Retry-After': String(Math.ceil(retryAfter)),
      'X-RateLimit-Limit': String(options.limit ?? 5),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': ((Date.now() + retryAfter * 1000) / 1000).toFixed(3),
      'X-RateLimit-Reset-After': retryAfter.toFixed(3),
      'X-RateLimit-Bucket': options.bucket ?? createHash('sha256').update(route).digest('hex').slice(0, 32),
      'X-RateLimit-Scope': scope,
    };
    if (options.global) headers['X-RateLimit-Global'] = 'true';
    const body = { message: 'You are being rate limited.', retry_after: Number(retryAfter.toFixed(3)), global: Boolean(options.global), ...(options.code !== undefined ? { code: options.code } : {}) };
    return new ApiError(status, options.body ?? body, headers);
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  private async parseBody(raw: Buffer, contentType: string | undefined): Promise<{ body: Wire; files: RecordedFile[] } | ApiError> {
    if (raw.length === 0) return { body: undefined, files: [] };
    if (contentType?.startsWith('multipart/form-data')) {
      const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
      let body: Wire;
      const files: RecordedFile[] = [];
      for (const [field, value] of form.entries()) {
        if (typeof value === 'string') {
          if (field === 'payload_json') {
            try {
              body = JSON.parse(value);
            } catch {
              return Errors.invalidJson();
            }
          }
        } else {
          files.push({ field, name: value.name, contentType: value.type || 'application/octet-stream', data: Buffer.from(await value.arrayBuffer()) });
        }
      }
      return { body, files };
    }
    try {
      return { body: JSON.parse(raw.toString('utf8')), files: [] };
    } catch {
      return Errors.invalidJson();
    }
  }

  private match(method: string, path: string): { def: RouteDef; params: Record<string, string> } | 'wrong-method' | undefined {
    let methodMismatch = false;
    for (const { def, regex, names } of this.compiled) {
      const m = regex.exec(path);
      if (!m) continue;
      if (def.method !== method) {
        methodMismatch = true;
        continue;
      }
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = m[i + 1] as string));
      return { def, params };
    }
    return methodMismatch ? 'wrong-method' : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const time = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://fake-discord');
    // discord.js percent-encodes `@original` and `@me`; routes and records use the decoded form.
    const pathname = url.pathname
      .split('/')
      .map((segment) => {
        try {
          return decodeURIComponent(segment);
        } catch {
          return segment;
        }
      })
      .join('/');
    const raw = await this.readBody(req);
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const call: RecordedCall = {
      seq: 0,
      time,
      method,
      path: pathname,
      route: '',
      params: {},
      query: Object.fromEntries(url.searchParams),
      headers: {
        authorization: header('authorization'),
        contentType: header('content-type'),
        userAgent: header('user-agent'),
        auditLogReason: header('x-audit-log-reason'),
      },
      body: undefined,
      files: [],
      status: 0,
      response: undefined,
      responseHeaders: {},
      injected: false,
    };

    let result: RouteResult | ApiError;
    try {
      result = await this.route(call, url.searchParams, raw);
    } catch (error) {
      console.error(`fake-discord: ${method} ${pathname} crashed`, error);
      result = new ApiError(500, { message: `fake-discord crashed: ${(error as Error).stack ?? String(error)}`, code: 0 });
    }

    const headers: Record<string, string> = { ...result.headers };
    call.status = result.status;
    call.responseHeaders = headers;
    if ('raw' in result && result.raw) {
      res.writeHead(result.status, { ...headers, 'content-type': result.raw.contentType, 'content-length': String(result.raw.data.length) });
      res.end(result.raw.data);
    } else if (result.body === undefined) {
      res.writeHead(result.status, headers);
      res.end();
    } else {
      call.response = result.body;
      const text = JSON.stringify(result.body);
      headers['content-type'] = 'application/json';
      res.writeHead(result.status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    }
    call.seq = ++this.seq;
    this.calls.push(call);
    this.emit('call', call);
  }

  private async route(call: RecordedCall, query: URLSearchParams, raw: Buffer): Promise<RouteResult | ApiError> {
    const versioned = call.path.match(/^\/api(?:\/v\d+)?(\/.*)$/);
    const path = versioned ? (versioned[1] as string) : call.path;
    const found = this.match(call.method, path);
    if (found === 'wrong-method') return Errors.methodNotAllowed();
    if (!found) return Errors.notFound();
    const { def, params } = found;
    call.route = def.pattern;
    call.params = params;
    if (params.interaction) call.interactionId = params.interaction;
    else if (params.token) call.interactionId = this.state.interactionsByToken.get(params.token)?.id;

    const parsed = await this.parseBody(raw, call.headers.contentType);
    if (parsed instanceof ApiError) return parsed;
    call.body = parsed.body;
    call.files = parsed.files;

    if (def.auth && call.headers.authorization !== `Bot ${this.state.token}`) return Errors.unauthorized();

    const delay = this.take('delay', call.method, def.pattern, path);
    if (delay?.delayMs) await sleep(delay.delayMs);
    const failure = this.take('failure', call.method, def.pattern, path);
    const handle = () => def.handle({ method: call.method, params, query, body: parsed.body, files: parsed.files, call });
    if (failure) {
      call.injected = true;
      if (failure.options?.processed) {
        // the request takes effect; only its answer is lost
        handle();
        call.note = call.note ? `${call.note}, processed` : 'processed';
      }
      return this.failure(failure, `${call.method} ${def.pattern}`);
    }
    return handle();
  }
}
