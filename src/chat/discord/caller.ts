import { Routes, type APIGuildMember, type REST } from 'discord.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import type { Caller } from '../command.js';
import { roleFromDiscordRoles } from '../permissions.js';

/** Who pressed or typed, as the interaction says. */
export interface DiscordUser {
  userId: string;
  username: string;
  /** null in a DM */
  guildId: string | null;
  channelId: string;
  /** the member's role ids in `guildId`; null when the interaction carries no member (a DM) */
  roleIds: readonly string[] | null;
}

/**
 * The Caller of an interaction: the labops role from the member's Discord roles (the configured
 * role ids; Discord's own permissions, administrator included, count for nothing here). An
 * interaction from a guild other than the configured one gets no role.
 */
export function callerFrom(config: Config, user: DiscordUser, roleIds: readonly string[] | null = user.roleIds): Caller {
  const foreignGuild = user.guildId !== null && config.discord.guildId !== undefined && user.guildId !== config.discord.guildId;
  return {
    id: `discord:${user.userId}`,
    name: user.username,
    role: foreignGuild ? null : roleFromDiscordRoles(config, roleIds ?? []),
    adapter: 'discord',
    channelId: user.channelId,
    inDM: user.guildId === null,
  };
}

/** The Discord user id inside a Caller made by `callerFrom`. */
export function userIdOf(caller: Caller): string {
  return caller.id.startsWith('discord:') ? caller.id.slice('discord:'.length) : caller.id;
}

/**
 * Role ids of a user in the configured guild, for interactions from a DM (which carry no member):
 * fetched over REST, remembered for a minute. Unknown member or no guild configured: no roles.
 */
export class MemberRoles {
  private readonly cache = new Map<string, { roles: string[]; at: number }>();

  constructor(
    private readonly rest: REST,
    private readonly guildId: string | undefined,
    private readonly logger: Logger,
    private readonly ttlMs = 60_000,
  ) {}

  /** What is known without asking Discord (for autocomplete, which must answer at once). */
  cached(userId: string): string[] | null {
    const hit = this.cache.get(userId);
    return hit && Date.now() - hit.at < this.ttlMs ? hit.roles : null;
  }

  async lookup(userId: string): Promise<string[]> {
    const hit = this.cached(userId);
    if (hit) return hit;
    if (!this.guildId) return [];
    let roles: string[] = [];
    try {
      const member = (await this.rest.get(Routes.guildMember(this.guildId, userId))) as APIGuildMember;
      roles = member.roles;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 10007 && code !== 10013) this.logger.warn({ err, userId }, 'could not look up the member of a DM in the lab guild');
    }
    this.cache.set(userId, { roles, at: Date.now() });
    if (this.cache.size > 1000) this.cache.delete(this.cache.keys().next().value!);
    return roles;
  }
}
