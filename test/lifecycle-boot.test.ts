import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notice } from '../src/notify/notice.js';
import { startWorkerProcess, type CliProcess } from './support/cli.js';
import { auditRows } from './support/env.js';
import { collectNotices, createLifecycleLab, type LifecycleLab } from './support/lifecycle-lab.js';

const ARCTIC = 'embeddings-arctic-litellm';
const LLAMA_EMBED = 'embeddings-llama-embed';
const PROXY = 'proxy-litellm';
const HERMES = 'chat-hermes-3-llama-3.1-8b';

describe('/repair boot-services: nothing heavy at boot', () => {
  let lab: LifecycleLab;
  let worker: CliProcess;
  let notices: ReturnType<typeof collectNotices>;

  beforeAll(async () => {
    lab = await createLifecycleLab({
      models: {
        [ARCTIC]: { enabled: true, config: { type: 'embeddings', vramMiB: 1800 } },
        [LLAMA_EMBED]: { enabled: true, config: { type: 'embeddings', vramMiB: 900 } },
        // the proxy needs no VRAM: it may start at boot
        [PROXY]: { enabled: true, config: { type: 'proxy', vramMiB: 0 } },
        [HERMES]: { config: { vramMiB: 9500 } },
      },
    });
    notices = collectNotices(lab.prefix);
    worker = await startWorkerProcess(lab);
  });

  afterAll(async () => {
    await worker?.stop();
    await notices?.close();
    await lab?.dispose();
  });

  it('is for admins only', async () => {
    const denied = await lab.exec('/repair boot-services', ['--as', 'operator']);
    expect(denied.code).toBe(2);
    expect(denied.title).toBe('Your role (operator) may not run /repair: it needs admin.');
  });

  it('shows a dry run and changes nothing until confirmed', async () => {
    const dry = await lab.execText('/repair boot-services');
    expect(dry.code).toBe(1);
    expect(dry.stderr).toContain('Disable 2 GPU-heavy units at boot on gpu-1?: not confirmed');
    expect(dry.stdout).toMatch(/^⚠ Dry run: 2 GPU-heavy units would be disabled at boot on gpu-1; nothing was changed\./);
    expect(dry.stdout).toMatch(new RegExp(`gpu-1 +${lab.units[ARCTIC]!.replace(/\./g, '\\.')} +${ARCTIC} +1,800 MiB +enabled → disabled`));
    expect(dry.stdout).toContain(lab.units[LLAMA_EMBED]);
    expect(dry.stdout).not.toContain(lab.units[PROXY]);
    expect(existsSync(lab.wantsLink(ARCTIC))).toBe(true);
    expect(existsSync(lab.wantsLink(LLAMA_EMBED))).toBe(true);
  });

  it('applies after confirmation: the links in default.target.wants are gone, audited and posted', async () => {
    const applied = await lab.exec('/repair kind:boot-services', ['--yes']);
    expect(applied.code, applied.raw).toBe(0);
    expect(applied.title).toBe('Repair boot-services applied on gpu-1: 2 units no longer start at boot');
    expect(existsSync(lab.wantsLink(ARCTIC))).toBe(false);
    expect(existsSync(lab.wantsLink(LLAMA_EMBED))).toBe(false);
    expect(existsSync(lab.wantsLink(PROXY))).toBe(true);
    expect(lab.unitFileState(ARCTIC)).toBe('disabled');
    expect(lab.unitFileState(PROXY)).toBe('enabled');

    const rows = await auditRows(lab);
    const repairs = rows.filter((r) => r.command === 'repair.apply');
    expect(repairs).toHaveLength(1);
    const repair = repairs[0];
    expect(repair).toMatchObject({ kind: 'job', job_id: expect.any(String) });
    expect(repair).toMatchObject({ host: 'gpu-1', outcome: 'ok', actor_name: expect.any(String) });
    const detail = repair!.detail as { before: { unit: string; atBoot: string }[]; after: { unit: string; atBoot: string }[]; said: string[] };
    expect(detail.before).toEqual(expect.arrayContaining([{ unit: lab.units[ARCTIC], model: ARCTIC, atBoot: 'enabled' }]));
    expect(detail.after).toEqual(expect.arrayContaining([{ unit: lab.units[ARCTIC], model: ARCTIC, atBoot: 'disabled' }]));
    expect(detail.said.join('\n')).toContain(`Removed '${lab.wantsLink(ARCTIC)}'.`);

    const posted = await notices.waitFor((n: Notice) => n.channel === 'log' && n.reply.title.startsWith('Repair boot-services applied on gpu-1'));
    expect(posted.reply.title).toMatch(/by \S+: 2 GPU-heavy units no longer start at boot$/);
  });

  it('has nothing left to do afterwards', async () => {
    const again = await lab.exec('/repair boot-services', ['--yes']);
    expect(again.code).toBe(0);
    expect(again.title).toBe('Nothing to repair on gpu-1: no GPU-heavy model units enabled at boot (the lab loads models just in time).');
  });
});
