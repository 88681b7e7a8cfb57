/**
 * The gateway side of the fake: a `ws` server on the same port as REST. It speaks Discord's
 * gateway v10 JSON protocol without compression: HELLO, IDENTIFY → READY + GUILD_CREATE,
 * heartbeats and their ACKs, RESUME (replaying what was missed) → RESUMED, and lets tests send any
 * dispatch, ask for a reconnect, invalidate the session, or close the socket with any close code.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Intent, type FakeState, type Wire } from './state.js';

export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

/** Close codes after which Discord does not let the session be resumed. */
const SESSION_ENDING_CODES = new Set([1000, 1001, 4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014]);

/** One thing that happened on the gateway. */
export interface GatewayRecord {
  seq: number;
  /** Wall-clock ms. */
  time: number;
  /** Which WebSocket connection (1, 2, … in the order they opened). */
  connection: number;
  /** `open`: a client connected; `in`: it sent a payload; `out`: the fake sent one; `close`: the socket closed. */
  kind: 'open' | 'in' | 'out' | 'close';
  op?: number;
  t?: string | null;
  s?: number | null;
  d?: Wire;
  /** For `open`: the URL the client connected to (path and query). */
  url?: string;
  /** For `close`: the close code, and who closed. */
  code?: number;
  reason?: string;
  by?: 'client' | 'server';
}

interface Session {
  id: string;
  seq: number;
  intents: number;
  alive: boolean;
  /** Every dispatch of the session, for replay on RESUME. */
  sent: { op: 0; t: string; s: number; d: Wire }[];
  conn: Conn | null;
}

interface Conn {
  id: number;
  ws: WebSocket;
  url: string;
  session: Session | null;
  closedByServer?: number;
}

export class GatewayServer extends EventEmitter {
  readonly log: GatewayRecord[] = [];
  /** `ws://host:port`; set once the HTTP server listens. */
  baseUrl = '';
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Map<string, Session>();
  private readonly conns = new Set<Conn>();
  private connCounter = 0;
  private seq = 0;

  constructor(private readonly state: FakeState) {
    super();
    this.setMaxListeners(0);
  }

  /** What `GET /gateway/bot` hands out. */
  get url(): string {
    return `${this.baseUrl}/gateway`;
  }

  /** What READY names as `resume_gateway_url`. */
  get resumeUrl(): string {
    return `${this.baseUrl}/gateway/resume`;
  }

  /** Open WebSocket connections. */
  get openConnections(): number {
    return this.conns.size;
  }

  /** Whether some client holds (or may resume) a session that dispatches reach. */
  get hasSession(): boolean {
    return [...this.sessions.values()].some((s) => s.alive);
  }

  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://fake-discord').pathname;
    if (!path.startsWith('/gateway')) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req.url ?? '/'));
  }

  private record(entry: Omit<GatewayRecord, 'seq' | 'time'>): void {
    const full: GatewayRecord = { seq: ++this.seq, time: Date.now(), ...entry };
    this.log.push(full);
    this.emit('gateway', full);
  }

  private send(conn: Conn, payload: { op: number; d: Wire; s?: number | null; t?: string | null }): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    const frame = { op: payload.op, d: payload.d, s: payload.s ?? null, t: payload.t ?? null };
    conn.ws.send(JSON.stringify(frame));
    this.record({ connection: conn.id, kind: 'out', op: frame.op, t: frame.t, s: frame.s, d: frame.d });
  }

  private onConnection(ws: WebSocket, url: string): void {
    const conn: Conn = { id: ++this.connCounter, ws, url, session: null };
    this.conns.add(conn);
    this.record({ connection: conn.id, kind: 'open', url });
    ws.on('message', (data) => this.onMessage(conn, data.toString()));
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      this.conns.delete(conn);
      const by = conn.closedByServer === undefined ? 'client' : 'server';
      this.record({ connection: conn.id, kind: 'close', code, reason: reason.toString(), by });
      const session = conn.session;
      if (session && session.conn === conn) {
        session.conn = null;
        if (SESSION_ENDING_CODES.has(code)) session.alive = false;
      }
    });
    this.send(conn, { op: GatewayOp.Hello, d: { heartbeat_interval: this.state.settings.heartbeatIntervalMs, _trace: ['["fake-discord-gateway",{}]'] } });
  }

  private onMessage(conn: Conn, text: string): void {
    let payload: Wire;
    try {
      payload = JSON.parse(text);
    } catch {
      this.closeConn(conn, 4002, 'Error while decoding payload.');
      return;
    }
    this.record({ connection: conn.id, kind: 'in', op: payload?.op, d: payload?.d });
    switch (payload?.op) {
      case GatewayOp.Heartbeat:
        this.send(conn, { op: GatewayOp.HeartbeatAck, d: null });
        return;
      case GatewayOp.Identify:
        this.identify(conn, payload.d ?? {});
        return;
      case GatewayOp.Resume:
        this.resume(conn, payload.d ?? {});
        return;
      case GatewayOp.PresenceUpdate:
      case GatewayOp.VoiceStateUpdate:
        if (!conn.session) this.closeConn(conn, 4003, 'Not authenticated.');
        return;
      case GatewayOp.RequestGuildMembers:
        if (!conn.session) this.closeConn(conn, 4003, 'Not authenticated.');
        else this.membersChunk(conn.session, payload.d ?? {});
        return;
      default:
        this.closeConn(conn, 4001, 'Unknown opcode.');
    }
  }

  private tokenMatches(token: unknown): boolean {
    return token === this.state.token || token === `Bot ${this.state.token}`;
  }

  private identify(conn: Conn, d: Wire): void {
    if (conn.session) return this.closeConn(conn, 4005, 'Already authenticated.');
    if (!this.tokenMatches(d.token)) return this.closeConn(conn, 4004, 'Authentication failed.');
    const shard = Array.isArray(d.shard) ? d.shard : [0, 1];
    if (shard[0] !== 0 || shard[1] !== 1) return this.closeConn(conn, 4010, 'Invalid shard.');
    // A client that identifies afresh has given up its old sessions.
    for (const [id, session] of this.sessions) if (!session.conn) this.sessions.delete(id);
    const session: Session = { id: randomBytes(16).toString('hex'), seq: 0, intents: Number(d.intents ?? 0), alive: true, sent: [], conn };
    this.sessions.set(session.id, session);
    conn.session = session;
    const bot = this.state.bot;
    this.dispatchTo(session, 'READY', {
      v: 10,
      user_settings: {},
      user: { ...bot, verified: true, mfa_enabled: false, email: null },
      guilds: [{ id: this.state.guildId, unavailable: true }],
      guild_join_requests: [],
      relationships: [],
      private_channels: [],
      presences: [],
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.resumeUrl,
      shard,
      application: { id: this.state.applicationId, flags: 0 },
      auth: {},
      geo_ordered_rtc_regions: [],
      _trace: ['["fake-discord-gateway",{}]'],
    });
    if (session.intents & Intent.Guilds) this.dispatchTo(session, 'GUILD_CREATE', this.state.guildCreatePayload());
  }

  private resume(conn: Conn, d: Wire): void {
    const session = this.sessions.get(String(d.session_id));
    if (conn.session || !session || !session.alive || !this.tokenMatches(d.token)) {
      this.send(conn, { op: GatewayOp.InvalidSession, d: false });
      return;
    }
    if (session.conn && session.conn !== conn) this.closeConn(session.conn, 4000, 'Session resumed elsewhere.');
    session.conn = conn;
    conn.session = session;
    const since = Number(d.seq ?? 0);
    for (const frame of session.sent) if (frame.s > since) this.send(conn, frame);
    this.dispatchTo(session, 'RESUMED', { _trace: ['["fake-discord-gateway",{}]'] });
  }

  private membersChunk(session: Session, d: Wire): void {
    let ids = [...this.state.memberRoles.keys()];
    if (Array.isArray(d.user_ids)) ids = ids.filter((id) => d.user_ids.includes(id));
    else if (typeof d.query === 'string' && d.query) ids = ids.filter((id) => String(this.state.users.get(id)?.username ?? '').startsWith(d.query));
    if (typeof d.limit === 'number' && d.limit > 0) ids = ids.slice(0, d.limit);
    this.dispatchTo(session, 'GUILD_MEMBERS_CHUNK', {
      guild_id: this.state.guildId,
      members: ids.map((id) => this.state.memberObject(id)),
      chunk_index: 0,
      chunk_count: 1,
      not_found: [],
      ...(d.nonce ? { nonce: d.nonce } : {}),
    });
  }

  /** Sends a dispatch in a session; kept for replay, so a client that resumes still gets it. */
  private dispatchTo(session: Session, t: string, d: Wire): void {
    const frame = { op: 0 as const, t, s: ++session.seq, d };
    session.sent.push(frame);
    if (session.conn) this.send(session.conn, frame);
  }

  /**
   * Sends a dispatch (e.g. `INTERACTION_CREATE`) to every live session, connected or waiting to
   * resume, optionally only to those that asked for `intent`. Returns how many sessions got it.
   */
  dispatch(t: string, d: Wire, intent?: number): number {
    let count = 0;
    for (const session of this.sessions.values()) {
      if (!session.alive || (intent !== undefined && !(session.intents & intent))) continue;
      this.dispatchTo(session, t, d);
      count++;
    }
    return count;
  }

  private closeConn(conn: Conn, code: number, reason: string): void {
    conn.closedByServer = code;
    if (conn.session && SESSION_ENDING_CODES.has(code)) conn.session.alive = false;
    if (conn.ws.readyState === WebSocket.OPEN || conn.ws.readyState === WebSocket.CONNECTING) conn.ws.close(code, reason);
  }

  /** Closes every open gateway socket with `code` (4000–4999 are Discord's; e.g. 4000 resumable, 4004 fatal). */
  closeAll(code: number, reason = 'Closed by fake-discord'): number {
    const open = [...this.conns];
    for (const conn of open) this.closeConn(conn, code, reason);
    return open.length;
  }

  /** Drops every socket without a close frame (the client sees 1006, like a network failure). */
  dropAll(): void {
    for (const conn of this.conns) {
      conn.closedByServer = 1006;
      conn.ws.terminate();
    }
  }

  /** Sends op 7 RECONNECT (the client closes and resumes). */
  requestReconnect(): void {
    for (const conn of this.conns) if (conn.session) this.send(conn, { op: GatewayOp.Reconnect, d: null });
  }

  /** Sends op 9 INVALID_SESSION; when not resumable the session ends and the client identifies again. */
  invalidateSession(resumable = false): void {
    for (const conn of this.conns) {
      if (!conn.session) continue;
      if (!resumable) {
        conn.session.alive = false;
        conn.session.conn = null;
        conn.session = null;
      }
      this.send(conn, { op: GatewayOp.InvalidSession, d: resumable });
    }
  }

  /** Sends op 1: the client must heartbeat at once. */
  requestHeartbeat(): void {
    for (const conn of this.conns) this.send(conn, { op: GatewayOp.Heartbeat, d: null });
  }

  async close(): Promise<void> {
    const closing = [...this.conns].map((conn) => new Promise<void>((resolve) => (conn.ws.readyState === WebSocket.CLOSED ? resolve() : conn.ws.once('close', () => resolve()))));
    for (const conn of this.conns) {
      conn.closedByServer = 1001;
      conn.ws.terminate();
    }
    await Promise.all(closing);
    this.conns.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
