import { Events, GatewayCloseCodes, type Client } from 'discord.js';
import type { Logger } from '../../core/logger.js';

/** Close codes after which reconnecting cannot help (a bad token, intents or shard config). */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  GatewayCloseCodes.AuthenticationFailed, // 4004
  GatewayCloseCodes.InvalidShard, // 4010
  GatewayCloseCodes.ShardingRequired, // 4011
  GatewayCloseCodes.InvalidAPIVersion, // 4012
  GatewayCloseCodes.InvalidIntents, // 4013
  GatewayCloseCodes.DisallowedIntents, // 4014
]);

/**
 * Logs the gateway's life (ready, reconnecting, resumed, errors) and calls `onFatal` when the
 * connection is closed for good, so the process can exit non-zero and be restarted by its
 * supervisor. Also the Client's `error` listener: without one, a rejected handler crashes the process.
 */
export function watchGateway(client: Client, logger: Logger, onFatal: (code: number) => void): void {
  client.on(Events.Error, (err) => logger.error({ err }, 'Discord client error'));
  client.on(Events.Warn, (message) => logger.warn({ message }, 'Discord client warning'));
  client.on(Events.ShardReady, (shard) => logger.info({ shard }, 'Discord gateway session ready'));
  client.on(Events.ShardReconnecting, (shard) => logger.warn({ shard }, 'Discord gateway connection lost; reconnecting'));
  client.on(Events.ShardResume, (shard, replayed) => logger.info({ shard, replayed }, 'Discord gateway session resumed'));
  client.on(Events.ShardError, (err, shard) => logger.warn({ err: err.message, shard }, 'Discord gateway error'));
  client.on(Events.ShardDisconnect, (event, shard) => {
    const fatal = FATAL_CLOSE_CODES.has(event.code);
    logger.error({ code: event.code, shard }, fatal ? `Discord closed the gateway with ${event.code} (${GatewayCloseCodes[event.code] ?? 'unrecoverable'}); exiting so that the supervisor restarts labops` : 'Discord gateway disconnected for good');
    onFatal(event.code);
  });
  client.rest.on('rateLimited', (info) => logger.info({ route: info.route, method: info.method, retryAfter: info.retryAfter, global: info.global, scope: info.scope }, 'Discord rate limit; waiting'));
}
