import { decryptValue, encryptValue, type LiteLLMKeys } from '../../litellm/crypto.js';

/**
 * A repair's before- and after-images for its audit row: encrypted with the proxy's salt key (they
 * may hold credentials, and config.yaml may hold literal keys), hex-encoded so that no redaction of
 * the audit row can alter them.
 */
export function seal(value: unknown, keys: LiteLLMKeys): string {
  return Buffer.from(encryptValue(JSON.stringify(value), keys, 'nacl-std'), 'base64').toString('hex');
}

/** The sealed value, or null where it does not open with these keys. */
export function unseal(sealed: string, keys: LiteLLMKeys): unknown {
  if (!/^[0-9a-f]+$/.test(sealed)) return null;
  const opened = decryptValue(Buffer.from(sealed, 'hex').toString('base64'), keys);
  if (!opened.ok) return null;
  try {
    return JSON.parse(opened.plaintext) as unknown;
  } catch {
    return null;
  }
}
