import { describe, expect, it } from 'vitest';
import { bringupModels } from '../src/bot/proxy/bringup.js';
import { bringupReply } from '../src/bot/proxy/bringup-reply.js';
import { renderReply } from '../src/chat/discord/render.js';
import { renderText } from '../src/chat/render-text.js';
import { Inventory } from '../src/config/inventory.js';
import { parseConfig } from '../src/config/load.js';
import type { BringupResult } from '../src/contracts/bringup.js';
import { UserError } from '../src/core/errors.js';
import { checkMessage } from './support/fake-discord/validate.js';

const inventory = new Inventory(
  parseConfig(`
litellm: { host: gpu-1 }
hosts:
  gpu-1:
    models:
      litellm: { type: proxy, engine: { kind: systemd, unit: litellm.service }, pinned: true }
      chat-hermes-3-llama-3.1-8b: { aliases: [chat-hermes], type: chat, engine: { kind: systemd, unit: hermes.service } }
      embeddings-default: { type: embeddings, engine: { kind: systemd, unit: embed.service } }
  gpu-2:
    models:
      chat-qwen2.5-0.5b-vllm: { type: chat, engine: { kind: systemd, unit: vllm.service } }
`),
);

const ready = { model: 'litellm', before: 'stopped', started: true, live: true, ready: true, db: 'connected', elapsedMs: 4_200, problem: null };
const result = (over: Partial<BringupResult> = {}): BringupResult => ({
  host: 'gpu-1',
  proxy: ready,
  doctor: { host: 'gpu-1', litellm: true, ran: ['proxy-live'], findings: [], stats: { dbModels: 0, decrypted: 0, decryptMs: 0, elapsedMs: 10 } },
  starts: [{ model: 'embeddings-default', host: 'gpu-1', status: 'ready', ok: true, detail: 'http://127.0.0.1:8091/health: 200', elapsedMs: 2_000 }],
  smoke: null,
  problems: [],
  elapsedMs: 9_000,
  ...over,
});

describe('/bringup, its parts', () => {
  it('takes names, aliases and prefixes, comma- or space-separated, on any host, once each', () => {
    const refs = bringupModels({ inventory }, 'chat-hermes, embeddings-default chat-qwen chat-hermes-3-llama-3.1-8b');
    expect(refs.map((r) => `${r.host}/${r.name}`)).toEqual(['gpu-1/chat-hermes-3-llama-3.1-8b', 'gpu-1/embeddings-default', 'gpu-2/chat-qwen2.5-0.5b-vllm']);
    expect(bringupModels({ inventory }, undefined)).toEqual([]);
  });

  it('answers an unknown model with every model it could start, and refuses the proxy', () => {
    const unknown = (() => {
      try {
        bringupModels({ inventory }, 'nosuch');
      } catch (err) {
        return err as UserError;
      }
      return null;
    })();
    expect(unknown).toBeInstanceOf(UserError);
    expect(unknown!.kind).toBe('usage');
    expect(unknown!.hint).toBe('Choices: chat-hermes-3-llama-3.1-8b (chat-hermes), embeddings-default, chat-qwen2.5-0.5b-vllm.');
    expect(() => bringupModels({ inventory }, 'litellm')).toThrow(/litellm is the proxy/);
  });

  it('is ok when everything came up and nothing was found; fails when the proxy is not ready', () => {
    const good = bringupReply(result());
    expect(good).toMatchObject({ outcome: 'ok', title: 'Bringup on gpu-1: proxy started and ready; 1 of 1 model up; doctor: nothing wrong' });
    const text = renderText(good);
    expect(text).toContain('stopped → ready');
    expect(text).toContain('started by bringup');

    const down = bringupReply(result({ proxy: { ...ready, live: false, ready: false, db: null, problem: 'after 2 min it does not answer /health/liveliness: connection refused' }, doctor: null, problems: ['doctor: no answer'] }));
    expect(down.outcome).toBe('failed');
    expect(down.title).toBe('Bringup on gpu-1: proxy not ready (started); 1 of 1 model up');
    expect(renderText(down)).toContain('? doctor: no answer');
  });

  it('lists the repairs of its findings and never more than a Discord message holds', () => {
    const finding = (i: number) => ({ check: 'provider-unreadable' as const, subject: `chat-${i}-vllm`, severity: 'error' as const, message: 'x'.repeat(300), repair: '/repair kind:encrypted-providers', checked: true, host: 'gpu-1' });
    const reply = bringupReply(result({ doctor: { ...result().doctor!, findings: Array.from({ length: 40 }, (_, i) => finding(i)) } }));
    expect(reply.outcome).toBe('failed');
    expect(renderText(reply).match(/^\/repair kind:encrypted-providers$/gm)).toHaveLength(1);
    const msg = renderReply(reply, { fileName: 'bringup' });
    expect(checkMessage(msg.body, { prefix: '', create: true, fileCount: msg.files?.length ?? 0 })).toBeNull();
  });
});
