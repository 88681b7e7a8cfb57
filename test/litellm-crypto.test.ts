import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decryptNested, decryptValue, deriveKeys, encryptValue, looksLikeCiphertext, type CipherFormat, type WriteFormat } from '../src/litellm/crypto.js';

interface Entry {
  field: string;
  plaintext: string;
  ciphertext: string;
  nonce_hex?: string;
}
const vectors = JSON.parse(readFileSync(new URL('./fixtures/litellm-vectors.json', import.meta.url), 'utf8')) as {
  salt_key: string;
  wrong_salt_key: string;
  derived_key_sha256_hex: string;
  derived_key_hkdf_v3_hex: string;
  entries: Entry[];
  entries_std_b64: Entry[];
  entries_v2_gcm: Entry[];
  entries_v3_gcm: Entry[];
  random_nonce_example: { plaintext: string; ciphertext: string };
  not_ciphertext: { value: string }[];
};

const keys = deriveKeys(vectors.salt_key);
const wrongKeys = deriveKeys(vectors.wrong_salt_key);
const sections: [string, Entry[], CipherFormat][] = [
  ['entries', vectors.entries, 'nacl-urlsafe'],
  ['entries_std_b64', vectors.entries_std_b64, 'nacl-std'],
  ['entries_v2_gcm', vectors.entries_v2_gcm, 'v2-gcm'],
  ['entries_v3_gcm', vectors.entries_v3_gcm, 'v3-gcm'],
];
const allEntries = sections.flatMap(([section, entries]) => entries.map((e) => ({ section, ...e })));

describe('deriveKeys', () => {
  it('derives the documented keys once per salt key and never prints them', () => {
    expect(Buffer.from(keys.sha256).toString('hex')).toBe(vectors.derived_key_sha256_hex);
    expect(Buffer.from(keys.hkdfV3).toString('hex')).toBe(vectors.derived_key_hkdf_v3_hex);
    expect(deriveKeys(vectors.salt_key)).toBe(keys);
    expect(JSON.stringify({ keys })).toBe('{"keys":"[LiteLLM keys]"}');
    expect(inspect(keys)).toBe('[LiteLLM keys]');
  });
});

describe('decryptValue', () => {
  it.each(sections)('decrypts every value of %s to its plaintext', (_section, entries, format) => {
    expect(entries.length).toBeGreaterThan(10);
    for (const entry of entries) {
      const result = decryptValue(entry.ciphertext, keys);
      // a standard-alphabet value without + or / is also valid url-safe base64
      const expectedFormat = format === 'nacl-std' && !/[+/]/.test(entry.ciphertext) ? 'nacl-urlsafe' : format;
      expect(result, `${entry.field} ${JSON.stringify(entry.plaintext)}`).toMatchObject({ ok: true, plaintext: entry.plaintext, format: expectedFormat });
    }
  });

  it('decrypts the random-nonce example', () => {
    expect(decryptValue(vectors.random_nonce_example.ciphertext, keys)).toMatchObject({ ok: true, plaintext: vectors.random_nonce_example.plaintext });
  });

  it('rejects every value under the wrong salt key', () => {
    for (const entry of allEntries) {
      expect(decryptValue(entry.ciphertext, wrongKeys), `${entry.section} ${JSON.stringify(entry.plaintext)}`).toEqual({ ok: false, reason: 'wrong-key' });
    }
  });

  it('never takes a plain value for a ciphertext', () => {
    expect(vectors.not_ciphertext.length).toBeGreaterThan(0);
    for (const { value } of vectors.not_ciphertext) {
      const result = decryptValue(value, keys);
      expect(result.ok, value).toBe(false);
      expect(looksLikeCiphertext(value), value).toBe(false);
    }
    expect(decryptValue('openai', keys)).toEqual({ ok: false, reason: 'not-ciphertext' });
    expect(decryptValue('http://vllm.internal.example:8000/v1', keys)).toEqual({ ok: false, reason: 'not-ciphertext' });
    expect(decryptValue('abcd', keys)).toEqual({ ok: false, reason: 'too-short' });
  });

  it('reports a classic value whose = padding was stripped as bad padding', () => {
    const padded = vectors.entries.filter((e) => e.ciphertext.endsWith('='));
    expect(padded.length).toBeGreaterThan(3);
    for (const entry of padded) {
      expect(decryptValue(entry.ciphertext.replace(/=+$/, ''), keys), entry.plaintext).toEqual({ ok: false, reason: 'bad-padding' });
    }
  });

  it('reads a value that decodes to nothing as "" and recognises the FIPS prefix without reading it', () => {
    expect(decryptValue('', keys)).toMatchObject({ ok: true, plaintext: '', layers: 0 });
    expect(decryptValue('aes256gcm:AAAA', keys)).toEqual({ ok: false, reason: 'unsupported-format' });
    expect(looksLikeCiphertext('aes256gcm:AAAA')).toBe(true);
  });
});

describe('encryptValue', () => {
  it('reproduces every classic vector byte for byte from its nonce', () => {
    for (const entry of vectors.entries) {
      const nonce = Buffer.from(entry.nonce_hex!, 'hex');
      expect(encryptValue(entry.plaintext, keys, 'nacl-urlsafe', nonce)).toBe(entry.ciphertext);
    }
    vectors.entries.forEach((entry, i) => {
      expect(encryptValue(entry.plaintext, keys, 'nacl-std', Buffer.from(entry.nonce_hex!, 'hex'))).toBe(vectors.entries_std_b64[i]!.ciphertext);
    });
  });

  it.each<WriteFormat>(['nacl-urlsafe', 'nacl-std', 'v2-gcm', 'v3-gcm'])('round-trips every plaintext in %s with a fresh nonce each time', (format) => {
    for (const { plaintext } of vectors.entries) {
      const stored = encryptValue(plaintext, keys, format);
      expect(stored.length % 4 === 0 || format.endsWith('gcm'), stored).toBe(true);
      expect(stored).not.toBe(encryptValue(plaintext, keys, format));
      expect(looksLikeCiphertext(stored)).toBe(true);
      expect(decryptValue(stored, keys)).toEqual({ ok: true, plaintext, format: format === 'nacl-std' && !/[+/]/.test(stored) ? 'nacl-urlsafe' : format, layers: 1 });
      expect(decryptValue(stored, wrongKeys)).toEqual({ ok: false, reason: 'wrong-key' });
    }
  });

  it('writes plaintext as it is', () => {
    expect(encryptValue('openai', keys, 'plaintext')).toBe('openai');
  });

  it('refuses a nonce of the wrong length', () => {
    expect(() => encryptValue('openai', keys, 'nacl-urlsafe', Buffer.alloc(12))).toThrow(/24 bytes/);
    expect(() => encryptValue('openai', keys, 'v3-gcm', Buffer.alloc(24))).toThrow(/12 bytes/);
  });
});

describe('decryptNested', () => {
  it('peels a value encrypted twice in two layers', () => {
    const twice = encryptValue(encryptValue('openai', keys), keys, 'v3-gcm');
    expect(decryptValue(twice, keys)).toMatchObject({ ok: true, layers: 1 });
    expect(decryptNested(twice, keys)).toEqual({
      ok: true,
      plaintext: 'openai',
      format: 'v3-gcm',
      formats: ['v3-gcm', 'nacl-urlsafe'],
      layers: 2,
      stillCiphertext: false,
    });
  });

  it('stops at maxLayers and says the value is still a ciphertext', () => {
    let stored = 'hosted_vllm';
    for (let i = 0; i < 4; i++) stored = encryptValue(stored, keys);
    expect(decryptNested(stored, keys)).toMatchObject({ ok: true, layers: 3, stillCiphertext: true });
    expect(decryptNested(stored, keys, 4)).toMatchObject({ ok: true, plaintext: 'hosted_vllm', layers: 4, stillCiphertext: false });
  });

  it('stops at an inner layer under another key', () => {
    const inner = encryptValue('openai', wrongKeys);
    const result = decryptNested(encryptValue(inner, keys), keys);
    expect(result).toMatchObject({ ok: true, plaintext: inner, layers: 1, stillCiphertext: true });
  });

  it('fails like decryptValue when the outer layer does not decrypt', () => {
    expect(decryptNested(vectors.entries[0]!.ciphertext, wrongKeys)).toEqual({ ok: false, reason: 'wrong-key' });
    expect(decryptNested('openai', keys)).toEqual({ ok: false, reason: 'not-ciphertext' });
  });

  it('reads a single layer as one', () => {
    for (const entry of vectors.entries.filter((e) => e.plaintext !== '')) {
      expect(decryptNested(entry.ciphertext, keys)).toMatchObject({ ok: true, plaintext: entry.plaintext, layers: 1, stillCiphertext: false });
    }
  });
});

describe('looksLikeCiphertext', () => {
  it('follows the detection rules of LITELLM.md §2.5', () => {
    for (const entry of allEntries) expect(looksLikeCiphertext(entry.ciphertext), entry.ciphertext).toBe(true);
    for (const plain of ['', 'openai', 'ollama_chat', 'os.environ/OPENAI_API_KEY', 'sytemd', 'A'.repeat(52)]) expect(looksLikeCiphertext(plain), plain).toBe(false);
    expect(looksLikeCiphertext(vectors.entries[0]!.ciphertext.replace(/=+$/, ''))).toBe(false);
  });
});
