/**
 * The fake Discord's world: a clock, snowflakes, one guild with its channels, roles and members, the
 * messages posted, the application commands registered, and the interactions handed out. It builds
 * Discord-shaped objects (users, members, channels, guild, messages) from that world; it does no I/O.
 */
import { randomBytes } from 'node:crypto';

/**
 * A JSON value as it travels on the wire. Recorded payloads and built objects use it so tests and
 * handlers can reach into Discord's nested shapes without casting at every step.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Wire = any;

/** Discord's permission bits that the defaults below use. */
export const Permission = {
  Administrator: 1n << 3n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  UseApplicationCommands: 1n << 31n,
} as const;

/** All permission bits Discord defines today (used for administrators and owners). */
export const ALL_PERMISSIONS = (1n << 51n) - 1n;

export const ChannelType = { GuildText: 0, DM: 1, GuildCategory: 4, GuildAnnouncement: 5 } as const;
export const MessageFlags = { Ephemeral: 1 << 6, Loading: 1 << 7, SuppressEmbeds: 1 << 2, SuppressNotifications: 1 << 12 } as const;
export const InteractionType = { Ping: 1, ApplicationCommand: 2, MessageComponent: 3, Autocomplete: 4, ModalSubmit: 5 } as const;
export const CallbackType = {
  Pong: 1,
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  AutocompleteResult: 8,
  Modal: 9,
} as const;
/** Gateway intents the fake looks at when deciding whether to dispatch message events. */
export const Intent = { Guilds: 1 << 0, GuildMembers: 1 << 1, GuildMessages: 1 << 9, DirectMessages: 1 << 12, MessageContent: 1 << 15 } as const;

const DISCORD_EPOCH = 1420070400000n;

/** The fake's notion of "now". Tests move it forward to age tokens without sleeping. */
export class Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  iso(ms: number = this.now()): string {
    return new Date(ms).toISOString().replace('Z', '+00:00');
  }
}

/** Snowflake ids whose timestamp part is the fake clock's time, like Discord's. */
export class Snowflakes {
  private increment = 0n;
  constructor(private readonly clock: Clock) {}
  next(at: number = this.clock.now()): string {
    this.increment = (this.increment + 1n) & 0xfffn;
    return (((BigInt(at) - DISCORD_EPOCH) << 22n) | (1n << 17n) | this.increment).toString();
  }
}

export interface UserInput {
  id?: string;
  username: string;
  globalName?: string;
  bot?: boolean;
  /** Role ids or role names of this user's guild member. */
  roles?: string[];
  nick?: string;
  /** The user is not a member of the guild (can only reach the bot in DMs). */
  notMember?: boolean;
}

export interface ChannelInput {
  id?: string;
  name: string;
  /** Discord channel type; 0 (guild text) by default. */
  type?: number;
  topic?: string;
  parentId?: string;
}

export interface RoleInput {
  id?: string;
  name: string;
  permissions?: bigint | string | number;
  position?: number;
  color?: number;
  managed?: boolean;
}

export interface FakeSettings {
  /** How long after dispatch an interaction may still be answered (Discord: 3 s). */
  callbackWindowMs: number;
  /** How long an interaction token works on the webhook routes (Discord: 15 min). */
  tokenLifetimeMs: number;
  /** How long a nonce sent with `enforce_nonce: true` deduplicates (Discord: "a few minutes"). */
  nonceWindowMs: number;
  /** The heartbeat_interval sent in HELLO (Discord: 41250 ms). */
  heartbeatIntervalMs: number;
}

export interface StateOptions {
  token: string;
  applicationId?: string;
  botUsername?: string;
  botUserId?: string;
  guildId?: string;
  guildName?: string;
  ownerId?: string;
  channels?: ChannelInput[];
  roles?: RoleInput[];
  users?: UserInput[];
  /** Permissions of the @everyone role. */
  everyonePermissions?: bigint | string | number;
  /** Permissions of the bot's managed role (they become the interactions' app_permissions). */
  botPermissions?: bigint | string | number;
  settings?: Partial<FakeSettings>;
}

export interface StoredFile {
  id: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

/** One interaction the fake handed out, and what the bot did with it. */
export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  payload: Wire;
  /** Fake-clock time of dispatch; the callback window and the token lifetime count from here. */
  createdAt: number;
  channelId: string;
  acknowledged: boolean;
  callbackType?: number;
  /** The message that `@original` names (the reply, the deferred placeholder, or the component's message). */
  originalMessageId?: string;
  followUpIds: string[];
  /** Autocomplete choices answered with callback type 8. */
  choices?: Wire[];
  /** The modal shown with callback type 9. */
  modal?: Wire;
}

const DEFAULT_EVERYONE =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.AddReactions |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseApplicationCommands;
const DEFAULT_BOT = DEFAULT_EVERYONE | Permission.ManageMessages | Permission.UseExternalEmojis;

function toBits(value: bigint | string | number | undefined, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  return BigInt(value);
}

export class FakeState {
  readonly clock = new Clock();
  readonly ids = new Snowflakes(this.clock);
  readonly settings: FakeSettings;
  readonly token: string;
  readonly applicationId: string;
  readonly bot: Wire;
  readonly guildId: string;
  readonly guildName: string;
  readonly ownerId: string;
  readonly users = new Map<string, Wire>();
  readonly memberRoles = new Map<string, string[]>();
  readonly memberNicks = new Map<string, string | null>();
  readonly joinedAt = new Map<string, string>();
  readonly roles = new Map<string, Wire>();
  readonly channels = new Map<string, Wire>();
  readonly messages = new Map<string, Wire[]>();
  readonly globalCommands: Wire[] = [];
  readonly guildCommands = new Map<string, Wire[]>();
  readonly interactions = new Map<string, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  /** `author:nonce` → the message created with that nonce and when. */
  readonly nonces = new Map<string, { messageId: string; at: number }>();
  readonly files = new Map<string, StoredFile>();
  /** Base URL attachments are served under (set once the server listens). */
  cdnUrl = '';

  constructor(options: StateOptions) {
    this.settings = {
      callbackWindowMs: 3_000,
      tokenLifetimeMs: 15 * 60_000,
      nonceWindowMs: 5 * 60_000,
      heartbeatIntervalMs: 41_250,
      ...options.settings,
    };
    this.token = options.token;
    this.applicationId = options.applicationId ?? this.ids.next();
    this.guildId = options.guildId ?? this.ids.next();
    this.guildName = options.guildName ?? 'labops test lab';
    const botId = options.botUserId ?? this.applicationId;
    this.bot = this.userObject({ id: botId, username: options.botUsername ?? 'labops', bot: true });
    this.users.set(botId, this.bot);

    const now = this.clock.iso();
    this.roles.set(this.guildId, this.roleObject({ id: this.guildId, name: '@everyone', permissions: toBits(options.everyonePermissions, DEFAULT_EVERYONE), position: 0 }));
    let position = 1;
    for (const role of options.roles ?? []) {
      const id = role.id ?? this.ids.next();
      this.roles.set(id, this.roleObject({ ...role, id, position: role.position ?? position++ }));
    }
    const botRoleId = this.ids.next();
    this.roles.set(botRoleId, this.roleObject({ id: botRoleId, name: this.bot.username, permissions: toBits(options.botPermissions, DEFAULT_BOT), position: position++, managed: true }));
    this.memberRoles.set(botId, [botRoleId]);
    this.joinedAt.set(botId, now);

    for (const input of options.users ?? []) {
      const id = input.id ?? this.ids.next();
      this.users.set(id, this.userObject({ ...input, id }));
      if (input.notMember) continue;
      this.memberRoles.set(id, (input.roles ?? []).map((ref) => this.resolveRole(ref)));
      this.memberNicks.set(id, input.nick ?? null);
      this.joinedAt.set(id, now);
    }
    this.ownerId = options.ownerId ?? this.ids.next();
    if (!this.users.has(this.ownerId)) this.users.set(this.ownerId, this.userObject({ id: this.ownerId, username: 'lab-owner' }));
    if (!this.memberRoles.has(this.ownerId)) {
      this.memberRoles.set(this.ownerId, []);
      this.joinedAt.set(this.ownerId, now);
    }

    const channels = options.channels?.length ? options.channels : [{ name: 'general' }];
    channels.forEach((input, index) => {
      const id = input.id ?? this.ids.next();
      this.channels.set(id, {
        id,
        type: input.type ?? ChannelType.GuildText,
        guild_id: this.guildId,
        name: input.name,
        position: index,
        parent_id: input.parentId ?? null,
        topic: input.topic ?? null,
        nsfw: false,
        last_message_id: null,
        rate_limit_per_user: 0,
        permission_overwrites: [],
        flags: 0,
      });
      this.messages.set(id, []);
    });
  }

  // ---- lookups: tests may name things by id or by name ----

  resolveUser(ref: string | undefined): string {
    if (ref === undefined) {
      const first = [...this.users.values()].find((u) => !u.bot && u.id !== this.ownerId);
      if (!first) throw new Error('fake-discord: no users configured; pass `users` to startFakeDiscord');
      return first.id;
    }
    if (this.users.has(ref)) return ref;
    const found = [...this.users.values()].find((u) => u.username === ref);
    if (!found) throw new Error(`fake-discord: unknown user ${JSON.stringify(ref)}`);
    return found.id;
  }

  resolveChannel(ref: string | undefined): string {
    if (ref === undefined) {
      const first = [...this.channels.values()].find((c) => c.type === ChannelType.GuildText);
      if (!first) throw new Error('fake-discord: no text channel configured');
      return first.id;
    }
    if (this.channels.has(ref)) return ref;
    const found = [...this.channels.values()].find((c) => c.name === ref || c.name === ref.replace(/^#/, ''));
    if (!found) throw new Error(`fake-discord: unknown channel ${JSON.stringify(ref)}`);
    return found.id;
  }

  resolveRole(ref: string): string {
    if (this.roles.has(ref)) return ref;
    const found = [...this.roles.values()].find((r) => r.name === ref);
    if (!found) throw new Error(`fake-discord: unknown role ${JSON.stringify(ref)}`);
    return found.id;
  }

  isMember(userId: string): boolean {
    return this.memberRoles.has(userId);
  }

  // ---- Discord-shaped objects ----

  userObject(input: { id: string; username: string; globalName?: string; bot?: boolean }): Wire {
    return {
      id: input.id,
      username: input.username,
      global_name: input.globalName ?? null,
      discriminator: '0',
      avatar: null,
      public_flags: 0,
      flags: 0,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
      ...(input.bot ? { bot: true } : {}),
    };
  }

  roleObject(input: RoleInput & { id: string; position: number }): Wire {
    return {
      id: input.id,
      name: input.name,
      color: input.color ?? 0,
      colors: { primary_color: input.color ?? 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: input.position,
      permissions: toBits(input.permissions, 0n).toString(),
      managed: input.managed ?? false,
      mentionable: false,
      flags: 0,
    };
  }

  /** The member's permissions in the guild: @everyone plus its roles; everything for owner/administrator. */
  permissionsOf(userId: string): bigint {
    if (userId === this.ownerId) return ALL_PERMISSIONS;
    let bits = BigInt(this.roles.get(this.guildId)?.permissions ?? '0');
    for (const roleId of this.memberRoles.get(userId) ?? []) bits |= BigInt(this.roles.get(roleId)?.permissions ?? '0');
    return bits & Permission.Administrator ? ALL_PERMISSIONS : bits;
  }

  memberObject(userId: string, withPermissions = false): Wire {
    const member: Wire = {
      user: this.users.get(userId),
      roles: [...(this.memberRoles.get(userId) ?? [])],
      nick: this.memberNicks.get(userId) ?? null,
      avatar: null,
      banner: null,
      joined_at: this.joinedAt.get(userId) ?? this.clock.iso(),
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    };
    if (withPermissions) member.permissions = this.permissionsOf(userId).toString();
    return member;
  }

  /** The bot's DM channel with a user (created on first use, like Discord's). */
  dmChannelFor(userId: string): Wire {
    const existing = [...this.channels.values()].find((c) => c.type === ChannelType.DM && c.recipients?.[0]?.id === userId);
    if (existing) return existing;
    const id = this.ids.next();
    const channel = { id, type: ChannelType.DM, last_message_id: null, flags: 0, recipients: [this.users.get(userId)] };
    this.channels.set(id, channel);
    this.messages.set(id, []);
    return channel;
  }

  guildObject(): Wire {
    return {
      id: this.guildId,
      name: this.guildName,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: this.ownerId,
      region: 'deprecated',
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: 'en-US',
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      vanity_url_code: null,
      max_members: 500000,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      application_id: null,
      features: [],
      roles: [...this.roles.values()],
      emojis: [],
      stickers: [],
      incidents_data: null,
    };
  }

  guildChannels(): Wire[] {
    return [...this.channels.values()].filter((c) => c.guild_id === this.guildId);
  }

  /** The full GUILD_CREATE payload a bot gets after READY. */
  guildCreatePayload(): Wire {
    const members = [...this.memberRoles.keys()].map((id) => this.memberObject(id));
    return {
      ...this.guildObject(),
      unavailable: false,
      joined_at: this.joinedAt.get(this.bot.id),
      large: false,
      member_count: members.length,
      members,
      channels: this.guildChannels().map(({ guild_id: _g, ...rest }) => rest),
      threads: [],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      embedded_activities: [],
      lazy: true,
    };
  }

  applicationObject(): Wire {
    return {
      id: this.applicationId,
      name: this.bot.username,
      icon: null,
      description: '',
      summary: '',
      type: null,
      bot_public: false,
      bot_require_code_grant: false,
      verify_key: randomBytes(32).toString('hex'),
      flags: 0,
      owner: this.users.get(this.ownerId),
      team: null,
      bot: this.bot,
      tags: [],
      install_params: { scopes: ['bot', 'applications.commands'], permissions: DEFAULT_BOT.toString() },
      integration_types_config: { '0': { oauth2_install_params: { scopes: ['bot', 'applications.commands'], permissions: DEFAULT_BOT.toString() } } },
      approximate_guild_count: 1,
      approximate_user_install_count: 0,
      redirect_uris: [],
      interactions_endpoint_url: null,
      role_connections_verification_url: null,
      event_webhooks_url: null,
      event_webhooks_status: 1,
      hook: true,
      is_monetized: false,
      storefront_available: false,
    };
  }

  // ---- messages ----

  findMessage(messageId: string): Wire | undefined {
    for (const list of this.messages.values()) {
      const found = list.find((m) => m.id === messageId);
      if (found) return found;
    }
    return undefined;
  }

  channelMessages(channelId: string): Wire[] {
    return this.messages.get(channelId) ?? [];
  }

  /** Turns uploaded files into attachment objects, and keeps their bytes. */
  attachmentsFor(channelId: string, requested: Wire[] | undefined, uploads: { field: string; name: string; contentType: string; data: Buffer }[], existing: Wire[] = []): Wire[] {
    const byIndex = new Map<string, (typeof uploads)[number]>();
    uploads.forEach((file, i) => byIndex.set(file.field.match(/^files\[(\d+)\]$/)?.[1] ?? String(i), file));
    const fromUpload = (file: (typeof uploads)[number], meta: Wire = {}): Wire => {
      const id = this.ids.next();
      const filename = meta.filename ?? file.name;
      this.files.set(id, { id, filename, contentType: file.contentType, data: file.data });
      return {
        id,
        filename,
        size: file.data.length,
        url: `${this.cdnUrl}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`,
        proxy_url: `${this.cdnUrl}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`,
        content_type: file.contentType,
        ...pngSize(file),
        ...(meta.description ? { description: meta.description } : {}),
      };
    };
    if (!requested) return [...existing, ...uploads.map((f) => fromUpload(f))];
    const out: Wire[] = [];
    for (const meta of requested) {
      const kept = existing.find((a) => a.id === String(meta.id));
      if (kept) out.push(kept);
      else {
        const upload = byIndex.get(String(meta.id));
        if (upload) out.push(fromUpload(upload, meta));
      }
    }
    return out;
  }

  /**
   * Which users and roles a message really mentions, given `allowed_mentions` (absent: everything
   * in the content; `{parse: []}`: nothing unless listed).
   */
  mentionsFor(content: string, allowed: Wire | undefined): { mentions: Wire[]; mention_roles: string[]; mention_everyone: boolean } {
    const parse: string[] | undefined = allowed?.parse;
    const allowUser = (id: string) => !allowed || parse?.includes('users') || (allowed.users ?? []).includes(id);
    const allowRole = (id: string) => !allowed || parse?.includes('roles') || (allowed.roles ?? []).includes(id);
    const userIds = [...content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1] as string).filter(allowUser);
    const roleIds = [...content.matchAll(/<@&(\d+)>/g)].map((m) => m[1] as string).filter(allowRole);
    return {
      mentions: [...new Set(userIds)].map((id) => this.users.get(id)).filter(Boolean),
      mention_roles: [...new Set(roleIds)],
      mention_everyone: /@(everyone|here)\b/.test(content) && (!allowed || Boolean(parse?.includes('everyone'))),
    };
  }
}

/** Discord gives an image attachment its width and height (here: PNGs, from their IHDR). */
function pngSize(file: { contentType: string; data: Buffer }): { width?: number; height?: number } {
  const d = file.data;
  if (file.contentType !== 'image/png' || d.length < 24 || d.toString('ascii', 12, 16) !== 'IHDR') return {};
  return { width: d.readUInt32BE(16), height: d.readUInt32BE(20) };
}
