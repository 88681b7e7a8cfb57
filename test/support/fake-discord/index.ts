/**
 * A fake Discord on loopback that the real, unmodified discord.js Client logs into.
 *
 *   const fake = await startFakeDiscord({ channels: [{ name: 'ops' }], users: [{ username: 'alice', roles: ['operator'] }], roles: [{ name: 'operator' }] });
 *   const client = new Client({ intents: [GatewayIntentBits.Guilds], partials: [Partials.Channel], rest: { api: fake.restUrl } });
 *   client.on('error', …);                      // a Client without an error listener crashes on a rejected handler
 *   await client.login(fake.token);
 *   const cmd = fake.slashCommand({ name: 'status', user: 'alice', channel: 'ops' });
 *   const edit = await cmd.waitForEdit();       // PATCH …/messages/@original
 *   expect(edit.message.embeds[0].title).toBe('…');
 *   await client.destroy(); await fake.close();
 *
 * Everything the bot sends over REST is in `fake.calls` (see RecordedCall in rest.ts); everything
 * on the gateway is in `fake.gatewayLog`. Wait with `waitFor` instead of sleeping.
 */
import { GatewayServer, type GatewayRecord } from './gateway.js';
import { InteractionFactory, type AutocompleteInput, type ComponentInput, type SlashCommandInput } from './interactions.js';
import { RestServer, type FailureOptions, type Fault, type FaultRule, type RecordedCall, type RouteSelector } from './rest.js';
import { discordRoutes } from './routes.js';
import { FakeState, Intent, type Clock, type FakeSettings, type InteractionRecord, type StateOptions, type StoredFile, type Wire } from './state.js';

export type { GatewayRecord } from './gateway.js';
export { GatewayOp } from './gateway.js';
export type { AutocompleteInput, ComponentInput, InteractionInput, OptionInput, OptionValue, SlashCommandInput } from './interactions.js';
export type { FailureOptions, Fault, FaultRule, RecordedCall, RecordedFile, RouteSelector } from './rest.js';

/** Route selectors for the calls a bot writes messages with (for failNext/delayNext and call filters). */
export const FakeRoute = {
  /** `POST /interactions/:interaction/:token/callback`: the acknowledgement (defer, reply, update, …) */
  callback: 'POST /interactions/:interaction/:token/callback',
  /** `PATCH /webhooks/:app/:token/messages/@original`: edits of the interaction's response */
  editOriginal: 'PATCH /webhooks/:app/:token/messages/@original',
  /** `POST /webhooks/:app/:token`: follow-up messages */
  followUp: 'POST /webhooks/:app/:token',
  /** `POST /channels/:channel/messages`: channel messages (notices, late answers) */
  channelPost: 'POST /channels/:channel/messages',
  /** `PATCH /channels/:channel/messages/:message`: edits of channel messages */
  channelEdit: 'PATCH /channels/:channel/messages/:message',
} as const;

/** True when `call` is a call of `route` (a FakeRoute value or any `METHOD /template`). */
export function isRoute(call: RecordedCall, route: string): boolean {
  const [method, template] = route.split(' ');
  const shape = (p: string) => p.replace(/\/:[^/]+/g, '/:');
  return call.method === method && shape(call.route) === shape(template ?? '');
}
export type { ChannelInput, FakeSettings, InteractionRecord, RoleInput, UserInput, Wire } from './state.js';
export { CallbackType, InteractionType, MessageFlags, Permission } from './state.js';

export interface FakeDiscordOptions extends Omit<StateOptions, 'token' | 'settings'>, Partial<FakeSettings> {
  /** The bot token the fake accepts (default: a made-up one; read it back from `fake.token`). */
  token?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

/** One interaction handed to the bot, and ways to wait for what the bot does with it. */
export interface InteractionHandle {
  id: string;
  token: string;
  /** The INTERACTION_CREATE payload as sent. */
  payload: Wire;
  /** Acknowledgement state, callback type, original message id, follow-up ids, choices, modal. */
  readonly record: InteractionRecord;
  /** REST calls made for this interaction (callback and webhook routes), in order. */
  calls(): RecordedCall[];
  /** The first callback (`POST /interactions/:id/:token/callback`), whatever its answer. */
  waitForCallback(timeoutMs?: number): Promise<RecordedCall>;
  /** An edit of the original response (`PATCH …/messages/@original`) matching `predicate` (default: the first). */
  waitForEdit(predicate?: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  /** A follow-up (`POST /webhooks/:app/:token`) matching `predicate` (default: the first). */
  waitForFollowUp(predicate?: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  /** Any call for this interaction matching `predicate`. */
  waitForCall(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  /** The original response message as it stands now (after the bot's edits). */
  original(): Wire | undefined;
  /** Makes the interaction `ms` older (e.g. 15 min + 1 to expire its token) without touching the clock. */
  age(ms: number): void;
}

export interface FakeDiscord {
  /** For `new Client({ rest: { api: fake.restUrl } })`: `http://127.0.0.1:PORT/api` (discord.js adds `/v10`). */
  restUrl: string;
  /** What `GET /gateway/bot` answers: `ws://127.0.0.1:PORT/gateway`. */
  gatewayUrl: string;
  token: string;
  applicationId: string;
  guildId: string;
  /** The bot's user object. */
  botUser: Wire;
  /** Every REST call answered so far, in order (live array). */
  calls: RecordedCall[];
  /** Everything that happened on the gateway (live array). */
  gatewayLog: GatewayRecord[];
  /** Windows and limits; change them at any time. */
  settings: FakeSettings;
  /** The fake's clock (advance it to age tokens and nonces). */
  clock: Clock;
  /** The fake's whole world, for assertions the helpers do not cover. */
  state: FakeState;

  /** Resolves with the first call (already made or still to come) that satisfies `predicate`. */
  waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  /** The same for gateway records. */
  waitForGateway(predicate: (record: GatewayRecord) => boolean, timeoutMs?: number): Promise<GatewayRecord>;
  /** The seq of the last call so far; use `c.seq > mark` to wait only for newer calls. */
  mark(): number;
  /** Forgets the calls recorded so far (seq numbers keep increasing). */
  clearCalls(): void;
  /** Calls `listener` for every call answered from now on; returns the unsubscribe function. */
  onCall(listener: (call: RecordedCall) => void): () => void;
  /** Calls `listener` for every gateway record from now on; returns the unsubscribe function. */
  onGateway(listener: (record: GatewayRecord) => void): () => void;

  /** Dispatches a slash command (type 2). */
  slashCommand(input: SlashCommandInput): InteractionHandle;
  /** Dispatches an autocomplete (type 4) with one focused option. */
  autocomplete(input: AutocompleteInput): InteractionHandle;
  /** Dispatches a component press (type 3) on a stored message. */
  pressButton(input: ComponentInput): InteractionHandle;
  /** A slash command from the bot's DM with `user` (no member, channel of type 1). */
  dm(input: Omit<SlashCommandInput, 'dm' | 'channel'>): InteractionHandle;
  /** Sends any dispatch (`t`, `d`) to the connected client(s). Returns how many sessions got it. */
  dispatch(t: string, d: Wire): number;

  /** Messages stored in a channel (id or name), oldest first, ephemeral ones included (flag 64). */
  messages(channel?: string): Wire[];
  /** A stored message by id. */
  message(id: string): Wire | undefined;
  /** A channel's id from its name (or id). */
  channelId(name: string): string;
  /** A user's id from their username (or id). */
  userId(name: string): string;
  /** A role's id from its name (or id). */
  roleId(name: string): string;
  /** The bytes of an uploaded attachment. */
  attachment(id: string): StoredFile | undefined;
  /** Registered application commands: of the guild (default) or global (`'global'`). */
  commands(scope?: string): Wire[];
  /** Calls that wrote a message (channel messages, callbacks 4/7, follow-ups, edits), for checks such as `allowed_mentions`. */
  messageWrites(): RecordedCall[];

  /** Closes the gateway socket(s) with `code` (4000: resumable; 4004: authentication failed, fatal). */
  closeGateway(code: number, reason?: string): number;
  /** Drops the gateway socket(s) without a close frame. */
  dropGateway(): void;
  /** Sends op 7 RECONNECT. */
  requestReconnect(): void;
  /** Sends op 9 INVALID_SESSION. */
  invalidateSession(resumable?: boolean): void;

  /**
   * The next `times` (default 1; `Infinity`: until `cancel()`) calls matching `route` answer
   * `status`: 429 with Discord's rate-limit headers and body, 5xx (optionally `processed`: the
   * request took effect, only the answer is lost), …; see README.md.
   *
   *   fake.failNext(FakeRoute.callback, { status: 429, retryAfterMs: 300 });
   *   const storm = fake.failNext([FakeRoute.channelPost, FakeRoute.channelEdit], { status: 503 }, Infinity);
   *   await fake.waitFor(() => storm.hits >= 4); storm.cancel();
   */
  failNext(route: RouteSelector, fault: Fault, times?: number): FaultRule;
  failNext(route: RouteSelector, status: number, options?: FailureOptions): FaultRule;
  /** The next `times` calls matching `route` are answered only after `ms`. */
  delayNext(route: RouteSelector, ms: number, times?: number): FaultRule;

  /** Open sockets: HTTP keep-alive connections and gateway WebSockets. */
  openConnections(): { http: number; gateway: number };
  /** A readable list of the calls so far (for failure messages). */
  describeCalls(last?: number): string;
  /** Stops the servers and drops every connection. Idempotent. */
  close(): Promise<void>;
}

function waitOn<T>(source: NodeJS.EventEmitter, event: string, list: T[], predicate: (item: T) => boolean, timeoutMs: number, describe: () => string): Promise<T> {
  const test = (item: T) => {
    try {
      return predicate(item);
    } catch {
      return false;
    }
  };
  const found = list.find(test);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const onItem = (item: T) => {
      if (!test(item)) return;
      cleanup();
      resolve(item);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`fake-discord: nothing matched within ${timeoutMs} ms. ${describe()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      source.off(event, onItem);
    };
    source.on(event, onItem);
  });
}

function fakeToken(botId: string): string {
  const random = () => Math.random().toString(36).slice(2);
  return `${Buffer.from(botId).toString('base64url')}.FAKE${random()}.${random()}${random()}`;
}

const DEFAULT_TIMEOUT_MS = 5_000;

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const { token, host = '127.0.0.1', port = 0, callbackWindowMs, tokenLifetimeMs, nonceWindowMs, heartbeatIntervalMs, ...world } = options;
  const settings: Partial<FakeSettings> = {};
  if (callbackWindowMs !== undefined) settings.callbackWindowMs = callbackWindowMs;
  if (tokenLifetimeMs !== undefined) settings.tokenLifetimeMs = tokenLifetimeMs;
  if (nonceWindowMs !== undefined) settings.nonceWindowMs = nonceWindowMs;
  if (heartbeatIntervalMs !== undefined) settings.heartbeatIntervalMs = heartbeatIntervalMs;
  const state = new FakeState({ ...world, token: token ?? fakeToken(world.botUserId ?? world.applicationId ?? '0'), settings });

  const gateway = new GatewayServer(state);
  const routes = discordRoutes({
    state,
    gatewayUrl: () => gateway.url,
    onMessage: (event, message) => {
      const d = event === 'MESSAGE_DELETE' ? { id: message.id, channel_id: message.channel_id, ...(message.guild_id ? { guild_id: message.guild_id } : {}) } : message;
      gateway.dispatch(event, d, message.guild_id ? Intent.GuildMessages : Intent.DirectMessages);
    },
  });
  const rest = new RestServer(state, routes, (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  const actualPort = await rest.listen(host, port);
  const origin = `${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  gateway.baseUrl = `ws://${origin}`;
  state.cdnUrl = `http://${origin}`;
  const factory = new InteractionFactory(state);

  const describeCalls = (last = 15) => {
    const lines = rest.calls.slice(-last).map((c) => `  #${c.seq} ${c.method} ${c.path} → ${c.status}${c.injected ? ' (injected)' : ''}${c.note ? ` [${c.note}]` : ''}${c.response?.code ? ` code ${c.response.code}` : ''}`);
    return lines.length ? `Last calls:\n${lines.join('\n')}` : 'No REST calls yet.';
  };
  const waitFor = (predicate: (call: RecordedCall) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS) => waitOn(rest, 'call', rest.calls, predicate, timeoutMs, describeCalls);
  const waitForGateway = (predicate: (record: GatewayRecord) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS) =>
    waitOn(gateway, 'gateway', gateway.log, predicate, timeoutMs, () => `Last gateway records: ${gateway.log.slice(-8).map((r) => `${r.kind}:${r.op ?? ''}${r.t ? `:${r.t}` : ''}${r.code ? `:${r.code}` : ''}`).join(', ')}`);

  const handle = (record: InteractionRecord): InteractionHandle => {
    if (gateway.dispatch('INTERACTION_CREATE', record.payload) === 0) {
      throw new Error('fake-discord: no gateway session to deliver INTERACTION_CREATE to; is the client logged in?');
    }
    const mine = (c: RecordedCall) => c.interactionId === record.id;
    const isEdit = (c: RecordedCall) => mine(c) && c.method === 'PATCH' && c.route.endsWith('/messages/@original');
    const isFollowUp = (c: RecordedCall) => mine(c) && c.method === 'POST' && c.route === '/webhooks/:app/:token';
    return {
      id: record.id,
      token: record.token,
      payload: record.payload,
      record,
      calls: () => rest.calls.filter(mine),
      waitForCallback: (timeoutMs) => waitFor((c) => mine(c) && c.route === '/interactions/:interaction/:token/callback', timeoutMs),
      waitForEdit: (predicate, timeoutMs) => waitFor((c) => isEdit(c) && (!predicate || predicate(c)), timeoutMs),
      waitForFollowUp: (predicate, timeoutMs) => waitFor((c) => isFollowUp(c) && (!predicate || predicate(c)), timeoutMs),
      waitForCall: (predicate, timeoutMs) => waitFor((c) => mine(c) && predicate(c), timeoutMs),
      original: () => (record.originalMessageId ? state.findMessage(record.originalMessageId) : undefined),
      age: (ms) => {
        record.createdAt -= ms;
      },
    };
  };

  let closed: Promise<void> | undefined;
  const messageRoutes = new Set([
    'POST /channels/:channel/messages',
    'PATCH /channels/:channel/messages/:message',
    'POST /webhooks/:app/:token',
    'PATCH /webhooks/:app/:token/messages/@original',
    'PATCH /webhooks/:app/:token/messages/:message',
  ]);

  return {
    restUrl: `http://${origin}/api`,
    gatewayUrl: gateway.url,
    token: state.token,
    applicationId: state.applicationId,
    guildId: state.guildId,
    botUser: state.bot,
    calls: rest.calls,
    gatewayLog: gateway.log,
    settings: state.settings,
    clock: state.clock,
    state,
    waitFor,
    waitForGateway,
    mark: () => rest.lastSeq,
    clearCalls: () => {
      rest.calls.length = 0;
    },
    onCall: (listener) => {
      rest.on('call', listener);
      return () => rest.off('call', listener);
    },
    onGateway: (listener) => {
      gateway.on('gateway', listener);
      return () => gateway.off('gateway', listener);
    },
    slashCommand: (input) => handle(factory.slashCommand(input)),
    autocomplete: (input) => handle(factory.autocomplete(input)),
    pressButton: (input) => handle(factory.component(input)),
    dm: (input) => handle(factory.slashCommand({ ...input, dm: true })),
    dispatch: (t, d) => gateway.dispatch(t, d),
    messages: (channel) => [...state.channelMessages(state.resolveChannel(channel))],
    message: (id) => state.findMessage(id),
    channelId: (name) => state.resolveChannel(name),
    userId: (name) => state.resolveUser(name),
    roleId: (name) => state.resolveRole(name),
    attachment: (id) => state.files.get(id),
    commands: (scope = state.guildId) => [...(scope === 'global' ? state.globalCommands : (state.guildCommands.get(scope) ?? []))],
    messageWrites: () => rest.calls.filter((c) => c.message !== undefined && (messageRoutes.has(`${c.method} ${c.route}`) || c.route === '/interactions/:interaction/:token/callback')),
    closeGateway: (code, reason) => gateway.closeAll(code, reason),
    dropGateway: () => gateway.dropAll(),
    requestReconnect: () => gateway.requestReconnect(),
    invalidateSession: (resumable) => gateway.invalidateSession(resumable),
    failNext: (route: RouteSelector, fault: number | Fault, more?: number | FailureOptions) => {
      if (typeof fault === 'number') return rest.failNext(route, fault, more as FailureOptions | undefined);
      const { status, ...options } = fault;
      return rest.failNext(route, status, { ...options, times: (more as number | undefined) ?? 1 });
    },
    delayNext: (route, ms, times) => rest.delayNext(route, ms, times),
    openConnections: () => ({ http: rest.openConnections, gateway: gateway.openConnections }),
    describeCalls,
    close: () =>
      (closed ??= (async () => {
        await gateway.close();
        await rest.close();
      })()),
  };
}
