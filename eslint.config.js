// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Boundaries. A path tells which process runs a file:
 *   bot only     src/bot, src/chat, commands/
 *   worker only  src/worker, src/engines, src/gpu, src/host, src/process, src/litellm, src/init, jobs/
 *   shared       src/core, src/config, src/contracts, src/queue, src/redis, src/db, src/audit, src/notify, src/alerts, src/state
 *   demo         src/demo: the lab `labops demo` starts (may use worker code such as src/process, never the chat side)
 * Shared code imports neither side; a side never imports the other; nothing in src/ imports
 * commands/ or jobs/ (src/cli.ts, the composition root, loads them by path). Each library that
 * talks to the outside has one home: discord.js in src/chat/discord, BullMQ in src/queue, pg in
 * src/db (types may be imported elsewhere), ioredis in src/redis, child processes in src/process.
 */
const BOT = ['src/bot/**', 'src/chat/**', 'commands/**'];
const WORKER = ['src/worker/**', 'src/engines/**', 'src/gpu/**', 'src/host/**', 'src/process/**', 'src/litellm/**', 'src/init/**', 'jobs/**'];

const BOT_FOLDERS = ['**/bot/**', '**/chat/**', '**/commands/**'];
const WORKER_FOLDERS = ['**/worker/**', '**/engines/**', '**/gpu/**', '**/host/**', '**/process/**', '**/litellm/**', '**/init/**', '**/jobs/**'];
const HANDLER_FOLDERS = ['**/commands/**', '**/jobs/**'];

const LIBRARIES = {
  'discord.js': { message: 'discord.js lives in src/chat/discord only.' },
  bullmq: { message: 'BullMQ lives in src/queue only: use JobClient, HostWorker or the notice queue.' },
  pg: { message: 'pg lives in src/db only: use createPool / LabDatabase (type imports are fine).', allowTypeImports: true },
  ioredis: { message: 'ioredis lives in src/redis only: import the client and its type from src/redis/connection.' },
  execa: { message: 'Child processes are started by src/process only, with argv arrays: nothing from chat reaches a shell.' },
  child_process: { message: 'Child processes are started by src/process only, with argv arrays: nothing from chat reaches a shell.' },
  'node:child_process': { message: 'Child processes are started by src/process only, with argv arrays: nothing from chat reaches a shell.' },
};

/** `no-restricted-imports` for one area: every library but the allowed ones, and the folders it may not reach. */
function boundary(files, { allow = [], folders = [], why = '' }) {
  const paths = Object.entries(LIBRARIES)
    .filter(([name]) => !allow.includes(name))
    .map(([name, rule]) => ({ name, ...rule }));
  const patterns = folders.length > 0 ? [{ group: folders, message: why }] : [];
  return { files, rules: { 'no-restricted-imports': ['error', { paths, patterns }] } };
}

const sideRule = {
  bot: { folders: [...WORKER_FOLDERS], why: 'Bot code never loads worker code (engines, locks, processors): share a contract in src/contracts instead.' },
  worker: { folders: [...BOT_FOLDERS], why: 'Worker code never loads bot code (chat, handlers): share a contract in src/contracts instead.' },
  shared: { folders: [...BOT_FOLDERS, ...WORKER_FOLDERS], why: 'Shared code (used by bot and worker) imports neither side.' },
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  boundary(['src/**'], { ...sideRule.shared }),
  boundary(['src/cli.ts'], { folders: HANDLER_FOLDERS, why: 'src/cli.ts loads commands/ and jobs/ by path.' }),
  boundary(BOT, sideRule.bot),
  boundary(['src/chat/discord/**'], { ...sideRule.bot, allow: ['discord.js'] }),
  boundary(['commands/**'], sideRule.bot),
  boundary(WORKER, sideRule.worker),
  boundary(['src/process/**'], { ...sideRule.worker, allow: ['execa', 'child_process', 'node:child_process'] }),
  boundary(['src/queue/**'], { ...sideRule.shared, allow: ['bullmq'] }),
  boundary(['src/redis/**'], { ...sideRule.shared, allow: ['ioredis'] }),
  boundary(['src/db/**'], { ...sideRule.shared, allow: ['pg'] }),
  // `labops demo`: stand-ins of a lab (its LiteLLM stand-in reads its database itself, as LiteLLM does); src/cli.ts runs the bot and worker on top
  boundary(['src/demo/**'], { folders: [...BOT_FOLDERS, '**/jobs/**'], allow: ['pg'], why: 'The demo builds a lab; src/cli.ts runs the bot and worker on it.' }),
  {
    files: ['test/**', 'bench/**', '*.js', '*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' } },
  },
);
