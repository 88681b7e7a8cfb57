/** Alerts are keyed (host, subject, kind): `gpu-1:gpu0:vram-high`. */
export interface AlertKey {
  host: string;
  subject: string;
  kind: string;
}

export const alertKeyString = (k: AlertKey): string => `${k.host}:${k.subject}:${k.kind}`;
