/**
 * The pure parts of the Discord adapter, without a network: Reply → message within Discord's
 * limits (checked by the fake Discord's own validation), command definitions → application
 * command JSON, button ids, who may press a confirmation, and who a caller is.
 */
import { describe, expect, it } from 'vitest';
import { commands } from '../commands/index.js';
import type { Caller } from '../src/chat/command.js';
import { defineCommand } from '../src/bot/define-command.js';
import { pressRefusal } from '../src/chat/discord/buttons.js';
import { callerFrom } from '../src/chat/discord/caller.js';
import { commandData, commandsData } from '../src/chat/discord/command-data.js';
import type { PendingConfirmation } from '../src/chat/discord/confirm-store.js';
import { buttonId, newStateId, parseButtonId } from '../src/chat/discord/custom-id.js';
import { noticeNonce } from '../src/chat/discord/notices.js';
import { cutLinesTo, embedSize, fits, LIMITS, renderConfirm, renderProgress, renderReply } from '../src/chat/discord/render.js';
import { fields, heading, table, text, type Reply } from '../src/core/reply.js';
import { configSchema } from '../src/config/schema.js';
import { registerSecret } from '../src/core/redact.js';
import { checkCommands, checkMessage } from './support/fake-discord/validate.js';

const valid = (body: unknown, fileCount = 0) => checkMessage(body, { prefix: '', create: true, fileCount });

const reply = (blocks: Reply['blocks'], extra: Partial<Reply> = {}): Reply => ({ outcome: 'ok', tone: 'info', title: 'Status of gpu-1', blocks, ...extra });

describe('renderReply', () => {
  it('one embed per section, fields as fields, tables as code blocks, the hint in the footer, no mentions', () => {
    const msg = renderReply(
      reply([text('all good'), heading('gpu-1'), fields([{ name: 'GPU', value: '0 H100 ▓▓░ 40 %', inline: true }]), table(['model', 'state'], [['chat-hermes', 'running']])], { hint: 'Run /models for more.' }),
      { fileName: 'status' },
    );
    expect(msg.files).toEqual([]);
    expect(msg.body.allowed_mentions).toEqual({ parse: [] });
    expect(msg.body.content).toBe('');
    expect(msg.body.embeds).toMatchObject([
      { title: 'Status of gpu-1', description: 'all good', color: 0x5865f2 },
      { title: 'gpu-1', fields: [{ name: 'GPU', value: '0 H100 ▓▓░ 40 %', inline: true }], description: '```\nmodel        state\n───────────  ───────\nchat-hermes  running\n```', footer: { text: '→ Run /models for more.' } },
    ]);
    expect(valid(msg.body)).toBeNull();
  });

  it.each([
    ['a description over 4096', reply([text('x'.repeat(5000))])],
    ['26 fields', reply([fields(Array.from({ length: 26 }, (_, i) => ({ name: `f${i}`, value: 'v' })))])],
    ['a field value over 1024', reply([fields([{ name: 'log', value: 'y\n'.repeat(800) }])])],
    ['11 sections', reply(Array.from({ length: 11 }, (_, i) => heading(`host-${i}`)))],
    ['more than 6000 in all', reply(Array.from({ length: 4 }, (_, i) => [heading(`host-${i}`), text('z'.repeat(1800))]).flat())],
    ['a long table', reply([table(['model', 'state'], Array.from({ length: 300 }, (_, i) => [`model-${i}`, 'running']))])],
  ])('%s: what fits stays inline, the whole goes in a .txt attachment', (_what, r) => {
    const msg = renderReply(r, { fileName: 'status' });
    expect(msg.files.map((f) => f.name)).toEqual(['status.txt']);
    expect(msg.body.attachments).toEqual([{ id: 0, filename: 'status.txt' }]);
    expect(fits(msg.body.embeds)).toBe(true);
    expect(msg.body.embeds.reduce((n, e) => n + embedSize(e), 0)).toBeLessThanOrEqual(LIMITS.total);
    expect(msg.body.embeds[0]!.title).toBe('Status of gpu-1');
    expect(msg.body.embeds.at(-1)!.footer!.text).toMatch(/The whole reply \(\d+ lines\) is attached as status\.txt\./);
    expect(msg.files[0]!.data.toString()).toMatch(/^ℹ Status of gpu-1\n/);
    expect(valid(msg.body, 1)).toBeNull();
  });

  it('never posts a secret', () => {
    registerSecret('s3cr3t-master-key');
    const msg = renderReply(reply([text('key is s3cr3t-master-key and postgres://u:pw@db/x')], { title: 'sk-abcdefghijkl' }), { fileName: 'x' });
    const json = JSON.stringify(msg.body);
    expect(json).not.toContain('s3cr3t-master-key');
    expect(json).not.toContain(':pw@');
    expect(json).not.toContain('sk-abcdefghijkl');
  });

  it('actions become buttons, five to a row', () => {
    const buttons = Array.from({ length: 7 }, (_, i) => ({ customId: buttonId('start', 'run', `id${i}abcdef`), label: `Start ${i}`, style: 'primary' as const }));
    const msg = renderReply(reply([]), { fileName: 'x', buttons });
    expect(msg.body.components.map((r) => r.components.length)).toEqual([5, 2]);
    expect(msg.body.components[0]!.components[0]).toEqual({ type: 2, style: 1, custom_id: 'start:run:id0abcdef', label: 'Start 0' });
    expect(valid(msg.body)).toBeNull();
  });

  it('progress is one line of content; a confirmation has its two buttons', () => {
    expect(renderProgress('asking the worker on gpu-1').body).toMatchObject({ content: '⏳ asking the worker on gpu-1', embeds: [], components: [] });
    expect(renderProgress('p'.repeat(3000)).body.content).toHaveLength(LIMITS.content);
    const prompt = renderConfirm(
      { title: 'Stop chat-hermes?', detail: 'It frees 9.3 GiB.', confirmLabel: 'Stop', danger: true },
      { confirmId: 'stop:confirm:abcdefgh', cancelId: 'stop:cancel:abcdefgh', expiresAt: 1_800_000_000_000, invokerUserId: '42', twoPerson: false, capability: 'operator' },
    );
    expect(prompt.body.embeds[0]).toMatchObject({ title: '⚠ Stop chat-hermes?', description: 'It frees 9.3 GiB.\n\nOnly <@42> can confirm. Expires <t:1800000000:R>.' });
    expect(prompt.body.components[0]!.components.map((b) => [b.label, b.style])).toEqual([
      ['Stop', 4],
      ['Cancel', 2],
    ]);
    expect(valid(prompt.body)).toBeNull();
  });

  it('cutLinesTo keeps whole lines and closes an open code fence', () => {
    const cut = cutLinesTo(['```', ...Array.from({ length: 100 }, (_, i) => `line ${i}`), '```'].join('\n'), 200);
    expect(cut.length).toBeLessThanOrEqual(200);
    expect(cut).toMatch(/^```\nline 0\n[\s\S]*\n```\n… \d+ more lines$/);
  });
});

describe('commandData', () => {
  it('every command of commands/index.ts is valid application command JSON', () => {
    const body = commandsData(commands);
    expect(checkCommands(body)).toBeNull();
    expect(body.map((c) => c.name)).toEqual(commands.map((c) => c.name));
    expect(body.find((c) => c.name === 'status')).toMatchObject({ type: 1, contexts: [0, 1], integration_types: [0], options: [{ type: 3, name: 'host', autocomplete: true, required: false }] });
  });

  it('required options first, choices, integer bounds, mutating commands only in guilds', () => {
    const data = commandData(
      defineCommand({
        name: 'start',
        description: 'Start a model',
        capability: 'operator',
        mutating: true,
        options: {
          host: { type: 'string', description: 'host', autocomplete: 'host' },
          model: { type: 'string', description: 'model', autocomplete: 'model', required: true },
          mode: { type: 'string', description: 'how', choices: ['fast', 'safe'] },
          n: { type: 'integer', description: 'n', min: 1, max: 10 },
          force: { type: 'boolean', description: 'force' },
        },
        execute: async () => reply([]),
      }),
    );
    expect(data.contexts).toEqual([0]);
    expect(data.options).toEqual([
      { name: 'model', description: 'model', required: true, type: 3, autocomplete: true, max_length: 100 },
      { name: 'host', description: 'host', required: false, type: 3, autocomplete: true, max_length: 100 },
      { name: 'mode', description: 'how', required: false, type: 3, max_length: 100, choices: [{ name: 'fast', value: 'fast' }, { name: 'safe', value: 'safe' }] },
      { name: 'n', description: 'n', required: false, type: 4, min_value: 1, max_value: 10 },
      { name: 'force', description: 'force', required: false, type: 5 },
    ]);
    expect(checkCommands([data])).toBeNull();
  });
});

describe('button ids and confirmations', () => {
  it('`<command>:<action>:<id>`, at most 100 characters', () => {
    const id = newStateId();
    const custom = buttonId('repair', 'confirm', id);
    expect(custom.length).toBeLessThanOrEqual(100);
    expect(parseButtonId(custom)).toEqual({ command: 'repair', action: 'confirm', id });
    expect(parseButtonId('stop:chat-hermes')).toBeNull();
    expect(parseButtonId('x:explode:abcdefgh')).toBeNull();
  });

  it('a notice nonce is stable per job and at most 25 characters', () => {
    expect(noticeNonce('labops', '17')).toBe(noticeNonce('labops', '17'));
    expect(noticeNonce('labops', '17')).not.toBe(noticeNonce('labops', '18'));
    expect(noticeNonce('labops', '17'.repeat(50)).length).toBeLessThanOrEqual(25);
  });

  const caller = (id: string, role: Caller['role']): Caller => ({ id: `discord:${id}`, name: id, role, adapter: 'discord', channelId: '1', inDM: false });
  const pending = (twoPerson: boolean): PendingConfirmation => ({
    id: 'abcdefgh',
    command: 'stop',
    raw: {},
    caller: caller('1', 'operator'),
    request: { title: 'Stop?', confirmLabel: 'Stop' },
    guildId: '9',
    channelId: '1',
    createdAt: 0,
    expiresAt: 1,
    twoPerson,
  });

  it('only the invoker may answer; for two-person commands a second member with the capability confirms', () => {
    expect(pressRefusal(pending(false), caller('1', 'operator'), 'confirm', 'operator')).toBeNull();
    expect(pressRefusal(pending(false), caller('2', 'admin'), 'confirm', 'operator')).toBe('Only <@1>, who asked for /stop, can confirm it.');
    expect(pressRefusal(pending(false), caller('2', 'admin'), 'cancel', 'operator')).toMatch(/^Only <@1>/);
    expect(pressRefusal(pending(true), caller('1', 'operator'), 'confirm', 'operator')).toMatch(/needs a second person/);
    expect(pressRefusal(pending(true), caller('1', 'operator'), 'cancel', 'operator')).toBeNull();
    expect(pressRefusal(pending(true), caller('2', 'viewer'), 'confirm', 'operator')).toBe('Only a member with the operator role can confirm /stop.');
    expect(pressRefusal(pending(true), caller('2', 'operator'), 'confirm', 'operator')).toBeNull();
  });
});

describe('callerFrom', () => {
  const config = configSchema.parse({
    discord: { guildId: '100000000000000001' },
    roles: { viewer: ['100000000000000011'], operator: ['100000000000000012'], admin: ['100000000000000013'] },
    hosts: { 'gpu-1': {} },
  });
  const user = { userId: '100000000000000021', username: 'olga', guildId: '100000000000000001', channelId: '100000000000000031', roleIds: ['100000000000000011', '100000000000000012'] };

  it('the highest labops role of the member, in the configured guild only; a DM has none of its own', () => {
    expect(callerFrom(config, user)).toEqual({ id: 'discord:100000000000000021', name: 'olga', role: 'operator', adapter: 'discord', channelId: '100000000000000031', inDM: false });
    expect(callerFrom(config, { ...user, guildId: '100000000000000099' }).role).toBeNull();
    expect(callerFrom(config, { ...user, roleIds: [] }).role).toBeNull();
    const dm = callerFrom(config, { ...user, guildId: null, roleIds: null });
    expect(dm).toMatchObject({ role: null, inDM: true });
    expect(callerFrom(config, { ...user, guildId: null, roleIds: null }, ['100000000000000013'])).toMatchObject({ role: 'admin', inDM: true });
  });
});
