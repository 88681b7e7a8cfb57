import type { AuditHealth } from '../../audit/audit-log.js';
import { formatDuration } from '../../core/duration.js';
import { fields, heading, table, text, type Block, type Field } from '../../core/reply.js';
import type { HostReport, LiveModelStatus, LiveSnapshot } from './collect.js';
import { ago, bar, gib, mib, pct } from '../../core/format.js';
import type { ModelStatus } from '../../contracts/lab-data.js';

/** The blocks of /status for one host: its live state, each value with its age; an offline host's last known state, marked stale. */
export function hostBlocks(report: HostReport, now = Date.now()): Block[] {
  const blocks: Block[] = [heading(hostTitle(report, now))];
  const snap = report.snapshot;
  if (report.problem) blocks.push(text(`⚠ ${report.problem}${report.heartbeat ? ` — last heartbeat ${ago(report.heartbeat.lastBeat, now)}` : ''}`));
  if (!snap) return blocks;
  if (report.stale) blocks.push(text(`Last known state (stale)${snap.collectedAt ? `, as of ${ago(snap.collectedAt, now)}` : ''}:`));
  const age = (at: number | null, limit: number) => ageText(at, report.stale ? 0 : limit, now);
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
  f.push({ name: 'GPU', value: gpuLines(snap).join('\n') });
  const limits = snap.staleAfter;
  f.push({
    name: 'Live state',
    value: [
      `models ${age(snap.collectedAt, limits.models)}`,
      `GPUs ${age(snap.gpuAt, limits.gpu)}`,
      ...(snap.gpu.available ? [`GPU processes ${age(snap.processesAt, limits.processes)}`] : []),
      `host ${age(snap.factsAt, limits.facts)}`,
    ].join(' · '),
  });
  blocks.push(fields(f));
  const unknown = snap.gpuProcesses.filter((p) => p.model === null);
  if (unknown.length > 0) {
    const index = new Map(snap.gpu.available ? snap.gpu.gpus.map((g) => [g.uuid, String(g.index)]) : []);
    blocks.push(table(['GPU', 'pid', 'process', 'user', 'VRAM'], unknown.map((p) => [index.get(p.gpuUuid) ?? '?', String(p.pid), p.name, p.user, mib(p.usedMiB)]), 'VRAM no model owns:'));
  }
  blocks.push(modelTable(snap.models, report.stale ? 0 : limits.models, now));
  return blocks;
}

function hostTitle(report: HostReport, now: number): string {
  const q = report.queue;
  const queue = q ? `queue ${q.waiting ?? 0} waiting · ${q.active ?? 0} running` : 'queue ?';
  if (!report.online) return `${report.host} — offline · ${queue}`;
  const hb = report.heartbeat!;
  return `${report.host} — worker v${hb.version} up ${formatDuration(now - hb.startedAt)}, beat ${formatDuration(now - hb.lastBeat)} ago · ${queue}`;
}

function gpuLines(snap: LiveSnapshot): string[] {
  const gpu = snap.gpu;
  if (!gpu.available) return [gpu.reason];
  return gpu.gpus.map((g) => {
    const unknown = snap.unknownMiB[g.uuid] ?? 0;
    return `${g.index} ${g.name} ${bar(g.usedMiB, g.totalMiB)} ${mib(g.usedMiB)} / ${mib(g.totalMiB)} (${pct(g.usedMiB, g.totalMiB)})${g.utilPct !== null ? ` · ${g.utilPct} % busy` : ''}${g.tempC !== null ? ` · ${g.tempC} °C` : ''}${unknown > 0 ? ` · ⚠ ${mib(unknown)} unknown` : ''}`;
  });
}

/** "2 s ago", or "3 min ago (stale)" past `staleAfterMs` (0: always stale). */
export function ageText(at: number | null, staleAfterMs: number, now = Date.now()): string {
  if (at === null) return 'not reported';
  return `${ago(at, now)}${now - at > staleAfterMs ? ' (stale)' : ''}`;
}

export function modelTable(models: LiveModelStatus[], staleAfterMs: number, now = Date.now()): Block {
  return table(
    ['model', 'type', 'engine', 'state', 'for', 'health', 'VRAM', 'seen'],
    models.map((m) => [
      m.name,
      m.type,
      m.engine,
      stateText(m),
      m.since !== null ? formatDuration(now - m.since) : '–',
      m.health ? `${m.health.ok ? 'ok' : `failing: ${m.health.detail}`} (${ago(m.health.at, now)})` : '–',
      m.vramMiB !== null ? mib(m.vramMiB) : '–',
      ageText(m.at, staleAfterMs, now),
    ]),
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
