import type { AuditHealth } from '../../audit/audit-log.js';
import { formatDuration } from '../../core/duration.js';
import { fields, heading, table, text, type Block, type Field } from '../../core/reply.js';
import type { HostReport } from './collect.js';
import { ago, bar, gib, mib, pct } from '../../core/format.js';
import type { ModelStatus } from '../../contracts/lab-data.js';

/** The blocks of /status for one host. */
export function hostBlocks(report: HostReport, now = Date.now()): Block[] {
  const blocks: Block[] = [heading(hostTitle(report, now))];
  const snap = report.snapshot;
  if (!snap) {
    blocks.push(text(`⚠ ${report.problem ?? 'no answer'}${report.heartbeat ? ` — last heartbeat ${ago(report.heartbeat.lastBeat, now)}` : ''}`));
    return blocks;
  }
  const f: Field[] = [];
  if ('error' in snap.facts) {
    f.push({ name: 'Host', value: `facts unavailable: ${snap.facts.error}` });
  } else {
    const h = snap.facts;
    f.push({ name: 'CPU', value: `${h.cpu.model} · ${h.cpu.cores} cores · load ${h.cpu.loadPct} %`, inline: true });
    f.push({ name: 'Memory', value: `${gib(h.memory.usedMiB)} / ${gib(h.memory.totalMiB)} (${pct(h.memory.usedMiB, h.memory.totalMiB)})`, inline: true });
    if (h.disk) {
      f.push({ name: 'Models disk', value: `${h.disk.usedGiB} / ${h.disk.totalGiB} GiB on ${h.disk.mount} (${pct(h.disk.usedGiB, h.disk.totalGiB)})`, inline: true });
    }
    f.push({ name: 'OS', value: `${h.os} · kernel ${h.kernel} · up ${formatDuration(h.uptimeS * 1000)}`, inline: true });
  }
  f.push({ name: 'GPU', value: gpuLines(report).join('\n') });
  blocks.push(fields(f));
  blocks.push(modelTable(snap.models));
  return blocks;
}

function hostTitle(report: HostReport, now: number): string {
  const q = report.queue;
  const queue = q ? `queue ${q.waiting ?? 0} waiting · ${q.active ?? 0} running` : 'queue ?';
  if (!report.online) return `${report.host} — offline · ${queue}`;
  const hb = report.heartbeat!;
  return `${report.host} — worker v${hb.version} up ${formatDuration(now - hb.startedAt)}, beat ${formatDuration(now - hb.lastBeat)} ago · ${queue}`;
}

function gpuLines(report: HostReport): string[] {
  const gpu = report.snapshot!.gpu;
  if (!gpu.available) return [gpu.reason];
  return gpu.gpus.map(
    (g) => `${g.index} ${g.name} ${bar(g.usedMiB, g.totalMiB)} ${mib(g.usedMiB)} / ${mib(g.totalMiB)} (${pct(g.usedMiB, g.totalMiB)})${g.utilPct !== null ? ` · ${g.utilPct} % busy` : ''}${g.tempC !== null ? ` · ${g.tempC} °C` : ''}`,
  );
}

export function modelTable(models: ModelStatus[]): Block {
  return table(
    ['model', 'type', 'engine', 'state', 'VRAM'],
    models.map((m) => [m.name, m.type, m.engine, stateText(m), m.vramMiB !== null ? mib(m.vramMiB) : '–']),
  );
}

export function stateText(m: Pick<ModelStatus, 'state' | 'detail'>): string {
  return m.detail ? `${m.state} (${m.detail})` : m.state;
}

export function auditLine(health: AuditHealth): string {
  const rows = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
  const rejected = health.rejected > 0 ? `; ${rows(health.rejected)} refused by PostgreSQL and set aside (see the log)` : '';
  if (health.ok && health.pending === 0) return `Audit log: ok${rejected}`;
  if (health.ok) return `Audit log: catching up — ${rows(health.pending)} waiting${rejected}`;
  return `Audit log: degraded — ${health.reason ?? 'catching up'}; ${rows(health.pending)} waiting to be written${rejected}`;
}
