import { userInfo } from 'node:os';
import type { Config, Role } from '../../config/schema.js';
import { ROLES } from '../../config/schema.js';
import { permissionError, usageError } from '../../core/errors.js';
import { checkTyped } from '../input.js';
import type { Caller, ChannelKind } from '../command.js';
import { localCeiling, may } from '../permissions.js';

export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'local';
  }
}

/**
 * Who runs the shell or exec. Local identity is the operating-system user. `--user <name>` may name
 * another user only for an OS user whose own grant is admin, and never raises a capability: the
 * result is the lower of the two grants, and the audit log names both (`ada (by root)`). `--role` /
 * `--as` may then ask for less, never more.
 */
export function localCaller(config: Config, adapter: Extract<ChannelKind, 'shell' | 'exec'>, opts: { user?: string; role?: string }, osUser = currentUser()): Caller {
  let name = osUser;
  let ceiling = localCeiling(config, osUser);
  if (opts.user !== undefined && opts.user !== osUser) {
    checkTyped(opts.user, '--user', 64);
    if (ceiling !== 'admin') {
      throw permissionError(
        `${osUser} may not act as another user: --user needs the admin role, and labops.yaml grants ${osUser} ${ceiling ?? 'no role'}.`,
        'Run it as yourself (without --user); local.users and local.defaultRole in labops.yaml say who may do what.',
      );
    }
    name = opts.user;
    ceiling = lower(ceiling, localCeiling(config, opts.user));
  }
  let role: Role | null = ceiling;
  if (opts.role !== undefined && opts.role !== 'none') {
    if (!(ROLES as readonly string[]).includes(opts.role)) {
      throw usageError(`Unknown role "${opts.role.slice(0, 20)}".`, `Roles: ${ROLES.join(', ')}, none`);
    }
    const asked = opts.role as Role;
    if (!may(ceiling, asked)) {
      throw permissionError(`${name} may not act as ${asked} here: labops.yaml grants ${name} ${ceiling ?? 'no role'}.`, 'See local.users and local.defaultRole in labops.yaml.');
    }
    role = asked;
  } else if (opts.role === 'none') {
    role = null;
  }
  const shown = name === osUser ? name : `${name} (by ${osUser})`;
  return { id: `local:${name}`, name: shown, role, adapter, channelId: 'local', inDM: false };
}

function lower(a: Role | null, b: Role | null): Role | null {
  if (!a || !b) return null;
  return may(a, b) ? b : a;
}
