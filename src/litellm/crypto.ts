import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import nacl from 'tweetnacl';

/**
 * LiteLLM's at-rest encryption of `litellm_params` (LITELLM.md §2): the classic NaCl SecretBox
 * (XSalsa20-Poly1305, key SHA-256(salt key), base64url or standard base64 with `=` padding) and the
 * 2026 AES-256-GCM formats `v2:gcm:` (key SHA-256(salt key)) and `v3:gcm:` (key HKDF-SHA256).
 */
export type CipherFormat = 'nacl-urlsafe' | 'nacl-std' | 'v2-gcm' | 'v3-gcm';
export type WriteFormat = CipherFormat | 'plaintext';

export type DecryptFailure =
  /** plain text (not base64, or too few characters to be a ciphertext) */
  | 'not-ciphertext'
  /** base64 without its `=` padding: Python's decoder refuses it ("Incorrect padding") */
  | 'bad-padding'
  /** decodes to 1–39 bytes (classic) or less than nonce + tag (GCM) */
  | 'too-short'
  /** well-formed, but the MAC/tag does not verify under this key */
  | 'wrong-key'
  /** decrypts, but the bytes are not UTF-8 */
  | 'not-utf8'
  /** `aes256gcm:` (a FIPS variant some builds may write): recognised, not read */
  | 'unsupported-format';

export type DecryptResult =
  /** `layers` is 1, or 0 for a value that decodes to nothing (read as "" without decrypting) */
  | { ok: true; plaintext: string; format: CipherFormat; layers: number }
  | { ok: false; reason: DecryptFailure };

export type NestedDecryptResult =
  | {
      ok: true;
      plaintext: string;
      /** the outermost layer's format */
      format: CipherFormat;
      /** formats from the outside in */
      formats: CipherFormat[];
      layers: number;
      /** the final value still looks like a ciphertext (more layers than allowed, or one under another key) */
      stillCiphertext: boolean;
    }
  | { ok: false; reason: DecryptFailure };

/** Keys derived from one salt key. Neither printed nor serialised, so a log line cannot leak them. */
export class LiteLLMKeys {
  /** SHA-256(salt key): NaCl SecretBox and v2 */
  declare readonly sha256: Uint8Array;
  /** HKDF-SHA256(salt key, no salt, info "litellm-at-rest-v3"): v3 */
  declare readonly hkdfV3: Uint8Array;

  constructor(saltKey: string) {
    const ikm = Buffer.from(saltKey, 'utf8');
    const hidden = (value: Uint8Array) => ({ value, enumerable: false, writable: false });
    Object.defineProperties(this, {
      sha256: hidden(new Uint8Array(createHash('sha256').update(ikm).digest())),
      hkdfV3: hidden(new Uint8Array(hkdfSync('sha256', ikm, Buffer.alloc(0), 'litellm-at-rest-v3', 32))),
    });
  }

  toJSON(): string {
    return '[LiteLLM keys]';
  }

  [inspect.custom](): string {
    return '[LiteLLM keys]';
  }
}

const MAX_CACHED_KEYS = 8;
const keyCache = new Map<string, LiteLLMKeys>();

/** The keys of a salt key, derived once and cached (decrypting thousands of rows must not re-derive). */
export function deriveKeys(saltKey: string): LiteLLMKeys {
  const cached = keyCache.get(saltKey);
  if (cached) return cached;
  const keys = new LiteLLMKeys(saltKey);
  if (keyCache.size >= MAX_CACHED_KEYS) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(saltKey, keys);
  return keys;
}

const V2_PREFIX = 'v2:gcm:';
const V3_PREFIX = 'v3:gcm:';
const FIPS_PREFIX = 'aes256gcm:';
const NACL_NONCE = 24;
const NACL_OVERHEAD = NACL_NONCE + 16;
const GCM_NONCE = 12;
const GCM_TAG = 16;
const BASE64_CHARS = /^[A-Za-z0-9+/_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One layer, in LiteLLM's reader order: AES prefixes first, else classic NaCl. */
export function decryptValue(stored: string, keys: LiteLLMKeys): DecryptResult {
  if (stored.startsWith(V3_PREFIX)) return decryptGcm(stored.slice(V3_PREFIX.length), keys.hkdfV3, 'v3-gcm');
  if (stored.startsWith(V2_PREFIX)) return decryptGcm(stored.slice(V2_PREFIX.length), keys.sha256, 'v2-gcm');
  if (stored.startsWith(FIPS_PREFIX)) return { ok: false, reason: 'unsupported-format' };
  return decryptClassic(stored, keys);
}

function decryptClassic(stored: string, keys: LiteLLMKeys): DecryptResult {
  const decoded = decodePaddedBase64(stored, NACL_OVERHEAD);
  if (!decoded.ok) return decoded;
  const raw = decoded.bytes;
  // Python's reader returns "" for a value that decodes to nothing, without decrypting
  if (raw.length === 0) return { ok: true, plaintext: '', format: 'nacl-urlsafe', layers: 0 };
  if (raw.length < NACL_OVERHEAD) return { ok: false, reason: 'too-short' };
  const opened = nacl.secretbox.open(raw.subarray(NACL_NONCE), raw.subarray(0, NACL_NONCE), keys.sha256);
  if (!opened) return { ok: false, reason: 'wrong-key' };
  const plaintext = decodeUtf8(opened);
  if (plaintext === null) return { ok: false, reason: 'not-utf8' };
  return { ok: true, plaintext, format: /[+/]/.test(stored) ? 'nacl-std' : 'nacl-urlsafe', layers: 1 };
}

function decryptGcm(body: string, key: Uint8Array, format: 'v2-gcm' | 'v3-gcm'): DecryptResult {
  const decoded = decodePaddedBase64(body, GCM_NONCE + GCM_TAG);
  if (!decoded.ok) return decoded;
  const raw = decoded.bytes;
  if (raw.length < GCM_NONCE + GCM_TAG) return { ok: false, reason: 'too-short' };
  let opened: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, GCM_NONCE));
    decipher.setAuthTag(raw.subarray(raw.length - GCM_TAG));
    opened = Buffer.concat([decipher.update(raw.subarray(GCM_NONCE, raw.length - GCM_TAG)), decipher.final()]);
  } catch {
    return { ok: false, reason: 'wrong-key' };
  }
  const plaintext = decodeUtf8(opened);
  if (plaintext === null) return { ok: false, reason: 'not-utf8' };
  return { ok: true, plaintext, format, layers: 1 };
}

/**
 * Base64 as Python's decoders take it here: either alphabet, `=` padding required. A value long
 * enough for a ciphertext (`minBytes`) that lacks its padding is `bad-padding`; other misfits are
 * plain text.
 */
function decodePaddedBase64(text: string, minBytes: number): { ok: true; bytes: Buffer } | { ok: false; reason: 'not-ciphertext' | 'bad-padding' } {
  const data = text.replace(/={1,2}$/, '');
  if (!BASE64_CHARS.test(data)) return { ok: false, reason: 'not-ciphertext' };
  if (text.length % 4 !== 0) {
    const decodable = data.length % 4 !== 1 && decodedLength(data) >= minBytes;
    return { ok: false, reason: decodable ? 'bad-padding' : 'not-ciphertext' };
  }
  return { ok: true, bytes: Buffer.from(data, 'base64') };
}

function decodedLength(data: string): number {
  return Math.floor((data.length * 3) / 4);
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Decrypts while the result still looks like a ciphertext (a value encrypted twice, LITELLM.md
 * §2.4), at most `maxLayers` times. A first layer that does not decrypt is the failure; an inner
 * layer that does not decrypt ends the loop with `stillCiphertext`.
 */
export function decryptNested(stored: string, keys: LiteLLMKeys, maxLayers = 3): NestedDecryptResult {
  const first = decryptValue(stored, keys);
  if (!first.ok) return first;
  const formats: CipherFormat[] = first.layers > 0 ? [first.format] : [];
  let plaintext = first.plaintext;
  while (formats.length < maxLayers && looksLikeCiphertext(plaintext)) {
    const next = decryptValue(plaintext, keys);
    if (!next.ok || next.layers === 0) break;
    formats.push(next.format);
    plaintext = next.plaintext;
  }
  return { ok: true, plaintext, format: first.format, formats, layers: formats.length, stillCiphertext: looksLikeCiphertext(plaintext) };
}

/**
 * LITELLM.md §2.5: an AES prefix, or base64 (either alphabet, padded to a multiple of 4) that
 * decodes to at least the 40 bytes of a NaCl nonce and MAC.
 */
export function looksLikeCiphertext(value: string): boolean {
  if (value.startsWith(V2_PREFIX) || value.startsWith(V3_PREFIX) || value.startsWith(FIPS_PREFIX)) return true;
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return false;
  return decodedLength(value.replace(/={1,2}$/, '')) >= NACL_OVERHEAD;
}

/**
 * Encrypts like LiteLLM's writers. `nonce` (24 bytes for NaCl, 12 for GCM) is for reproducing
 * known values; leave it out otherwise. `plaintext` returns the value unencrypted.
 */
export function encryptValue(plaintext: string, keys: LiteLLMKeys, format: WriteFormat = 'nacl-urlsafe', nonce?: Uint8Array): string {
  const message = Buffer.from(plaintext, 'utf8');
  switch (format) {
    case 'plaintext':
      return plaintext;
    case 'nacl-urlsafe':
    case 'nacl-std': {
      const n = checkedNonce(nonce, NACL_NONCE);
      const raw = Buffer.concat([n, nacl.secretbox(message, n, keys.sha256)]);
      return format === 'nacl-std' ? raw.toString('base64') : base64UrlPadded(raw);
    }
    case 'v2-gcm':
    case 'v3-gcm': {
      const n = checkedNonce(nonce, GCM_NONCE);
      const cipher = createCipheriv('aes-256-gcm', format === 'v3-gcm' ? keys.hkdfV3 : keys.sha256, n);
      const body = Buffer.concat([n, cipher.update(message), cipher.final(), cipher.getAuthTag()]);
      return `${format === 'v3-gcm' ? V3_PREFIX : V2_PREFIX}${base64UrlPadded(body)}`;
    }
  }
}

function checkedNonce(nonce: Uint8Array | undefined, length: number): Buffer {
  if (!nonce) return randomBytes(length);
  if (nonce.length !== length) throw new RangeError(`nonce must be ${length} bytes, got ${nonce.length}`);
  return Buffer.from(nonce);
}

/** Node's base64url drops the `=` padding that Python's decoder requires. */
function base64UrlPadded(bytes: Buffer): string {
  const text = bytes.toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}
