import type { Config, Role } from '../config/schema.js';

export type Capability = Role | 'everyone';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Deny by default: no role may run only what is open to everyone. */
export function may(role: Role | null, needed: Capability): boolean {
  if (needed === 'everyone') return true;
  if (!role) return false;
  return RANK[role] >= RANK[needed];
}

export function higher(a: Role | null, b: Role | null): Role | null {
  if (!a) return b;
  if (!b) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

/** The highest capability any of a member's Discord roles maps to. */
export function roleFromDiscordRoles(config: Config, memberRoleIds: readonly string[]): Role | null {
  let best: Role | null = null;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    if (config.roles[role].some((id) => memberRoleIds.includes(id))) best = higher(best, role);
  }
  return best;
}

/**
 * The most a local (shell/exec) user may be: `local.users[<user>]`, else `local.defaultRole`.
 * `--role`/`--as` may ask for less, never more.
 */
export function localCeiling(config: Config, user: string): Role | null {
  const role = config.local.users[user] ?? config.local.defaultRole;
  return role === 'none' ? null : role;
}
