/**
 * A fake Discord and a test lab whose config points at it: fixed ids for the guild, its channels,
 * the labops roles and a few members, so the config can be written before the fake starts.
 *
 *   const { fake, lab, botEnv } = await startDiscordLab();
 *   const bot = new CliProcess(['bot'], botEnv);
 */
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from './fake-discord/index.js';
import { createTestLab, type TestLab } from './env.js';

export const IDS = {
  app: '1320000000000000001',
  guild: '1320000000000000002',
  channels: { ops: '1320000000000000011', alerts: '1320000000000000012', log: '1320000000000000013', random: '1320000000000000014' },
  roles: { viewer: '1320000000000000021', operator: '1320000000000000022', admin: '1320000000000000023', serverAdmin: '1320000000000000024' },
  users: {
    alice: '1320000000000000031', // viewer
    olga: '1320000000000000032', // operator
    oscar: '1320000000000000033', // operator
    adam: '1320000000000000034', // admin
    bob: '1320000000000000035', // no labops role
    sam: '1320000000000000036', // server administrator, no labops role
  },
} as const;

export interface DiscordLab {
  fake: FakeDiscord;
  lab: TestLab;
  /** the lab's environment plus the fake's token and REST URL, with info logs */
  botEnv: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startDiscordLab(
  opts: { discord?: Record<string, unknown>; fake?: Partial<FakeDiscordOptions>; hosts?: Record<string, unknown> } = {},
): Promise<DiscordLab> {
  const fake = await startFakeDiscord({
    applicationId: IDS.app,
    guildId: IDS.guild,
    channels: [
      { id: IDS.channels.ops, name: 'ops' },
      { id: IDS.channels.alerts, name: 'alerts' },
      { id: IDS.channels.log, name: 'log' },
      { id: IDS.channels.random, name: 'random' },
    ],
    roles: [
      { id: IDS.roles.viewer, name: 'labops-viewer' },
      { id: IDS.roles.operator, name: 'labops-operator' },
      { id: IDS.roles.admin, name: 'labops-admin' },
      { id: IDS.roles.serverAdmin, name: 'server-admin', permissions: 8n },
    ],
    users: [
      { id: IDS.users.alice, username: 'alice', roles: ['labops-viewer'] },
      { id: IDS.users.olga, username: 'olga', roles: ['labops-operator'] },
      { id: IDS.users.oscar, username: 'oscar', roles: ['labops-operator'] },
      { id: IDS.users.adam, username: 'adam', roles: ['labops-admin'] },
      { id: IDS.users.bob, username: 'bob' },
      { id: IDS.users.sam, username: 'sam', roles: ['server-admin'] },
    ],
    ...opts.fake,
  });
  const lab = createTestLab({
    ...(opts.hosts ? { hosts: opts.hosts } : {}),
    extra: {
      discord: {
        applicationId: IDS.app,
        guildId: IDS.guild,
        alertChannelId: IDS.channels.alerts,
        logChannelId: IDS.channels.log,
        commandChannelIds: [IDS.channels.ops],
        ...opts.discord,
      },
      roles: { viewer: [IDS.roles.viewer], operator: [IDS.roles.operator], admin: [IDS.roles.admin] },
    },
  });
  const botEnv: NodeJS.ProcessEnv = { ...lab.env, DISCORD_TOKEN: fake.token, DISCORD_REST_API: fake.restUrl, LABOPS_LOG_LEVEL: 'info' };
  return {
    fake,
    lab,
    botEnv,
    async close() {
      await fake.close();
      await lab.cleanup();
    },
  };
}

/** pino's JSON lines from a process's stderr (or a captured stream), parsed. */
export function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}
