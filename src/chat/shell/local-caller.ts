import { userInfo } from 'node:os';
import type { Config, Role } from '../../config/schema.js';
import { ROLES } from '../../config/schema.js';
import { permissionError, usageError } from '../../core/errors.js';
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
 * Who runs the shell or exec: the local user (or `--user`), with the role asked for by
 * `--role`/`--as`, which may not exceed what labops.yaml grants that user (`local.users`, else
 * `local.defaultRole`). Without a flag the user gets exactly that grant.
 */
export function localCaller(config: Config, adapter: Extract<ChannelKind, 'shell' | 'exec'>, opts: { user?: string; role?: string }): Caller {
  const name = opts.user ?? currentUser();
  const ceiling = localCeiling(config, name);
  let role: Role | null = ceiling;
  if (opts.role !== undefined && opts.role !== 'none') {
    if (!(ROLES as readonly string[]).includes(opts.role)) {
      throw usageError(`Unknown role "${opts.role}".`, `Roles: ${ROLES.join(', ')}, none`);
    }
    const asked = opts.role as Role;
    if (!may(ceiling, asked)) {
      throw permissionError(
        `${name} may not act as ${asked} here: labops.yaml grants ${name} ${ceiling ?? 'no role'}.`,
        'See local.users and local.defaultRole in labops.yaml.',
      );
    }
    role = asked;
  } else if (opts.role === 'none') {
    role = null;
  }
  return { id: `local:${name}`, name, role, adapter, channelId: 'local', inDM: false };
}
