import { z } from 'zod';
import type { SigningKeys } from '../core/signing-keys.js';
import type { Notice } from './notice.js';

export const NOTICE_DOMAIN = 'labops/notice/v1';

const signedPart = (n: Record<string, unknown>) => ({ channel: n.channel, key: n.key ?? null, reply: n.reply, at: n.at });

/** The notice with its signature, when the lab has a key. */
export function signNotice(keys: SigningKeys | null, notice: Notice): Notice {
  const { sig: _unsigned, ...plain } = notice;
  return keys ? { ...plain, sig: keys.sign(NOTICE_DOMAIN, signedPart(plain)) } : plain;
}

const noticeSchema = z.object({
  channel: z.enum(['alert', 'log']),
  key: z.string().optional(),
  reply: z.object({ title: z.string(), blocks: z.array(z.unknown()) }).loose(),
  at: z.number(),
  sig: z.unknown().optional(),
});

export type NoticeCheck = { ok: true; notice: Notice } | { ok: false; reason: string };

/**
 * A notice as read back from the queue. With keys it must carry a signature by one of them over
 * its channel, key, reply and time; without keys (a one-host lab that runs unsigned) only its
 * shape is checked.
 */
export function checkNotice(data: unknown, keys: SigningKeys | null): NoticeCheck {
  const parsed = noticeSchema.safeParse(data);
  if (!parsed.success) return { ok: false, reason: 'not a notice (malformed)' };
  if (keys) {
    // verified over the data as it came: parsing drops what it does not know
    const raw = data as Record<string, unknown>;
    const verified = keys.verify(NOTICE_DOMAIN, signedPart(raw), raw.sig);
    if (!verified.ok) return { ok: false, reason: verified.reason };
  }
  return { ok: true, notice: data as Notice };
}
