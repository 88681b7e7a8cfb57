import { REST, Routes, type APIApplication, type APIApplicationCommand } from 'discord.js';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import { redact } from '../../core/redact.js';
import type { AnyCommand } from '../command.js';
import { commandsData } from './command-data.js';
import { describeError } from './discord-rest.js';

export interface DeployTarget {
  /** a guild id: the commands appear there at once (what a lab wants) */
  guild?: string;
  /** all guilds and DMs (Discord takes a while to show changes) */
  global: boolean;
}

/**
 * `labops deploy-commands --guild <id> | --global`: registers the slash commands of
 * `commands/index.ts` with one bulk overwrite (PUT), which adds, changes and removes as needed.
 * Run it when the commands change, never on every start. Returns the exit code.
 */
export async function deployCommands(
  config: Config,
  logger: Logger,
  target: DeployTarget,
  opts: { commands: readonly AnyCommand[]; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream },
): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const say = (stream: NodeJS.WritableStream, text: string) => stream.write(`${redact(text)}\n`);
  const d = config.discord;
  if (!d.token) {
    say(stderr, 'deploy-commands: no Discord token; set DISCORD_TOKEN (or discord.token in labops.yaml).');
    return 2;
  }
  if (target.global && target.guild) {
    say(stderr, 'deploy-commands: give either --guild <id> or --global, not both.');
    return 2;
  }
  const guild = target.global ? undefined : (target.guild ?? d.guildId);
  if (!target.global && !guild) {
    say(stderr, 'deploy-commands: which guild? --guild <id> (or discord.guildId in labops.yaml), or --global.');
    return 2;
  }
  if (guild && !/^\d{15,22}$/.test(guild)) {
    say(stderr, `deploy-commands: "${guild}" is not a Discord guild id (a snowflake of 15 to 22 digits).`);
    return 2;
  }

  const body = commandsData(opts.commands);
  const rest = new REST(d.restApi ? { api: d.restApi } : {}).setToken(d.token);
  try {
    const applicationId = d.applicationId ?? ((await rest.get(Routes.currentApplication())) as APIApplication).id;
    const route = guild ? Routes.applicationGuildCommands(applicationId, guild) : Routes.applicationCommands(applicationId);
    const registered = (await rest.put(route, { body })) as APIApplicationCommand[];
    const where = guild ? `guild ${guild}` : 'all guilds (global; Discord may take up to an hour to show changes)';
    logger.info({ applicationId, guild: guild ?? null, commands: registered.map((c) => c.name) }, 'slash commands registered');
    say(stdout, `Registered ${registered.length} slash commands in ${where}: ${registered.map((c) => `/${c.name}`).join(' ')}`);
    return 0;
  } catch (err) {
    say(stderr, `deploy-commands failed: ${describeError(err)}`);
    return 1;
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
}
