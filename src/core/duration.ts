const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `30s`, `5m`, `1h30m`, `2d`; a bare number is seconds. Returns milliseconds or null. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g);
  let total = 0;
  let consumed = 0;
  for (const [whole, value, unit] of parts) {
    total += Number(value) * UNITS[unit!]!;
    consumed += whole.length;
  }
  if (consumed === 0 || consumed !== trimmed.length) return null;
  return Math.round(total);
}

/** 0 s, 42 s, 3 min 5 s, 2 h 4 min, 3 d 1 h */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}
