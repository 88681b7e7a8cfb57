import { formatDuration } from './duration.js';

export const mib = (n: number) => `${Math.round(n).toLocaleString('en-US')} MiB`;

export const gib = (miB: number) => `${(miB / 1024).toFixed(1)} GiB`;

/** ▓▓▓▓▓░░░░░ */
export function bar(used: number, total: number, width = 10): string {
  const filled = total > 0 ? Math.min(width, Math.round((used / total) * width)) : 0;
  return '▓'.repeat(filled) + '░'.repeat(width - filled);
}

export const pct = (used: number, total: number) => (total > 0 ? `${Math.round((used / total) * 100)} %` : '–');

export function ago(ms: number, now = Date.now()): string {
  return `${formatDuration(now - ms)} ago`;
}
