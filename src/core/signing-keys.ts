import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.js';

/**
 * HMAC-SHA-256 over the canonical JSON of a value, under a key shared by the bot and the workers.
 * Signers use the current key; verifiers accept the current and the previous one, so the processes
 * of a lab can be moved to a new key one at a time.
 *
 * What is signed is `<domain>\n<canonical JSON>`: the domain ("labops/job/v1", "labops/notice/v1")
 * keeps a signature made for one kind of thing from being accepted for another.
 */
export const signatureSchema = z.object({
  /** the format of the signature */
  v: z.literal(1),
  alg: z.literal('HMAC-SHA-256'),
  /** which key signed: the first 8 hex digits of HMAC(key, "labops key id"), never the key */
  kid: z.string().regex(/^[0-9a-f]{8}$/),
  /** base64url of the 32-byte MAC */
  mac: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});
export type Signature = z.infer<typeof signatureSchema>;

/** The shortest key accepted: 32 characters (`openssl rand -base64 32` gives 44). */
export const MIN_KEY_LENGTH = 32;

export type KeyUsed = 'current' | 'previous';

export type Verification = { ok: true; key: KeyUsed } | { ok: false; reason: string };

interface Key {
  secret: Buffer;
  kid: string;
}

export class SigningKeys {
  private readonly current: Key;
  private readonly previous: Key | null;

  constructor(current: string, previous?: string | null) {
    this.current = toKey(current);
    this.previous = previous && previous !== current ? toKey(previous) : null;
  }

  /** The current key's id (safe to show: it does not reveal the key). */
  get kid(): string {
    return this.current.kid;
  }

  get hasPrevious(): boolean {
    return this.previous !== null;
  }

  /** The previous key's id, or null. */
  get previousKid(): string | null {
    return this.previous?.kid ?? null;
  }

  /** "current" or "current+previous" key ids, as a worker reports them in its heartbeat. */
  get description(): string {
    return this.previous ? `${this.current.kid}+${this.previous.kid}` : this.current.kid;
  }

  sign(domain: string, value: unknown): Signature {
    return { v: 1, alg: 'HMAC-SHA-256', kid: this.current.kid, mac: mac(this.current.secret, domain, value) };
  }

  /** Checks `signature` (anything: it comes from outside) over `value` against the current, then the previous key. */
  verify(domain: string, value: unknown, signature: unknown): Verification {
    if (signature === undefined || signature === null) return { ok: false, reason: 'not signed' };
    const parsed = signatureSchema.safeParse(signature);
    if (!parsed.success) return { ok: false, reason: 'the signature is malformed' };
    const given = Buffer.from(parsed.data.mac, 'base64url');
    const keys: [Key, KeyUsed][] = [[this.current, 'current']];
    if (this.previous) keys.push([this.previous, 'previous']);
    // every key is tried, whatever the kid says: the kid only helps a person read the logs
    for (const [key, used] of keys) {
      const expected = Buffer.from(mac(key.secret, domain, value), 'base64url');
      if (expected.length === given.length && timingSafeEqual(expected, given)) return { ok: true, key: used };
    }
    const known = keys.some(([k]) => k.kid === parsed.data.kid);
    return { ok: false, reason: known ? 'the signature does not match the content (altered after signing)' : `signed with an unknown key (key id ${parsed.data.kid})` };
  }
}

function toKey(secret: string): Key {
  const bytes = Buffer.from(secret, 'utf8');
  return { secret: bytes, kid: createHmac('sha256', bytes).update('labops key id').digest('hex').slice(0, 8) };
}

function mac(secret: Buffer, domain: string, value: unknown): string {
  return createHmac('sha256', secret).update(`${domain}\n${canonicalJson(value)}`).digest('base64url');
}
