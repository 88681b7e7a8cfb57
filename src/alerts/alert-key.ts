/** Alerts are keyed (host, subject, kind): `gpu-1:gpu0:vram-high`. */
export interface AlertKey {
  host: string;
  subject: string;
  kind: string;
}

/** Every kind of alert labops raises. */
export const ALERT_KINDS = ['vram-high', 'model-down', 'ghost-vram', 'worker-offline', 'proxy-down', 'boot-service'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const alertKeyString = (k: AlertKey): string => `${k.host}:${k.subject}:${k.kind}`;

/** Host, subject and kind are inventory names, unit names and fixed words: none holds a ":". */
const KEY = /^([a-z0-9][a-z0-9._-]{0,63}):([A-Za-z0-9@._-]{1,128}):([a-z-]{1,32})$/;

/** `gpu-1:gpu0:vram-high` → its parts; null for anything else (what a user typed is checked here). */
export function parseAlertKey(text: string): AlertKey | null {
  const m = KEY.exec(text.trim());
  return m ? { host: m[1]!, subject: m[2]!, kind: m[3]! } : null;
}

export const isAlertKind = (kind: string): kind is AlertKind => (ALERT_KINDS as readonly string[]).includes(kind);
