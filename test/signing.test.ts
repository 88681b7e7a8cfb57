/**
 * The pieces of signed jobs and notices, without Redis: canonical JSON, the key ring, the job
 * envelope and notice checks. The whole path (bot → Redis → worker on another host) is in
 * multi-host.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createEnvelope, checkEnvelope, type JobEnvelope } from '../src/contracts/job-envelope.js';
import { canonicalJson } from '../src/core/canonical-json.js';
import { SigningKeys } from '../src/core/signing-keys.js';
import { checkNotice, signNotice } from '../src/notify/signed-notice.js';
import type { Notice } from '../src/notify/notice.js';

const KEY_A = 'a'.repeat(16) + 'key-A-0123456789abcdef';
const KEY_B = 'b'.repeat(16) + 'key-B-0123456789abcdef';
const KEY_C = 'c'.repeat(16) + 'key-C-0123456789abcdef';

/** What a worker gets back from Redis: the JSON BullMQ stored. */
const viaRedis = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

describe('canonical JSON', () => {
  it('writes one text per value, whatever the key order', () => {
    const a = { b: 1, a: { y: [3, { d: 1, c: 2 }], x: 'é' }, '': null };
    const b = { '': null, a: { x: 'é', y: [3, { c: 2, d: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"":null,"a":{"x":"é","y":[3,{"c":2,"d":1}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('is the same before and after a JSON round trip (what Redis hands back)', () => {
    const value = { at: new Date(0), gone: undefined, list: [undefined, NaN, Infinity, -0, 1e21, 0.1], s: 'line\n"q"\u2028\ud800', n: null, nested: { z: true, a: false } };
    expect(canonicalJson(viaRedis(value))).toBe(canonicalJson(value));
    expect(canonicalJson(value)).toBe('{"at":"1970-01-01T00:00:00.000Z","list":[null,null,null,0,1e+21,0.1],"n":null,"nested":{"a":false,"z":true},"s":"line\\n\\"q\\"\u2028\\ud800"}');
  });

  it('keeps a "__proto__" key as data, and keeps array order', () => {
    const parsed = JSON.parse('{"__proto__":{"role":"admin"},"b":[2,1]}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"role":"admin"},"b":[2,1]}');
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalJson(10n)).toThrow();
    expect(() => canonicalJson(undefined)).toThrow(/not a JSON value/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow();
  });
});

describe('signing keys', () => {
  const keys = new SigningKeys(KEY_A);

  it('verifies what it signed, and nothing altered', () => {
    const sig = keys.sign('d', { a: 1 });
    expect(sig).toMatchObject({ v: 1, alg: 'HMAC-SHA-256', kid: keys.kid });
    expect(keys.verify('d', { a: 1 }, sig)).toEqual({ ok: true, key: 'current' });
    expect(keys.verify('d', { a: 2 }, sig)).toEqual({ ok: false, reason: expect.stringMatching(/altered/) });
    expect(keys.verify('other', { a: 1 }, sig).ok).toBe(false);
    expect(keys.verify('d', { a: 1 }, undefined)).toEqual({ ok: false, reason: 'not signed' });
    expect(keys.verify('d', { a: 1 }, { ...sig, mac: 'x' })).toEqual({ ok: false, reason: 'the signature is malformed' });
  });

  it('rotation: verifiers take the current and the previous key, signers use the current one', () => {
    const old = new SigningKeys(KEY_A);
    const rotated = new SigningKeys(KEY_B, KEY_A);
    const stranger = new SigningKeys(KEY_C);
    expect(rotated.verify('d', 1, old.sign('d', 1))).toEqual({ ok: true, key: 'previous' });
    expect(rotated.verify('d', 1, rotated.sign('d', 1))).toEqual({ ok: true, key: 'current' });
    expect(rotated.sign('d', 1).kid).toBe(new SigningKeys(KEY_B).kid);
    // a process still on the old key alone does not accept the new one: rotate verifiers first
    expect(old.verify('d', 1, rotated.sign('d', 1)).ok).toBe(false);
    expect(rotated.verify('d', 1, stranger.sign('d', 1))).toEqual({ ok: false, reason: `signed with an unknown key (key id ${stranger.kid})` });
  });

  it('a key id does not show the key', () => {
    expect(keys.kid).toMatch(/^[0-9a-f]{8}$/);
    expect(JSON.stringify(keys.sign('d', 1))).not.toContain(KEY_A);
  });
});

describe('job envelopes', () => {
  const keys = new SigningKeys(KEY_A);
  const requestedBy = { id: 'u1', name: 'olga', role: 'operator', adapter: 'discord', channel: 'ops' };
  const now = 1_800_000_000_000;
  const make = (k: SigningKeys | null = keys, extra: Partial<JobEnvelope> = {}) =>
    viaRedis({ ...createEnvelope(k, { kind: 'model.start', host: 'gpu-2', jobId: 'j1', createdAt: now, requestedBy, payload: { model: 'chat-x', force: false } }), ...extra });
  const expected = { host: 'gpu-2', kind: 'model.start', jobId: 'j1', maxAgeMs: 600_000, now: now + 1_000 };
  const reason = (data: unknown, k: SigningKeys | null = keys, exp: Partial<typeof expected> = {}) => {
    const r = checkEnvelope(data, k, { ...expected, ...exp });
    return r.ok ? 'ok' : r.reason;
  };

  it('a job signed by the bot verifies after the trip through Redis', () => {
    const r = checkEnvelope(make(), keys, expected);
    expect(r).toEqual({ ok: true, payload: { model: 'chat-x', force: false }, requestedBy, signed: 'current' });
  });

  it('refuses a forged requester, an altered payload, no signature and a stranger\'s key', () => {
    const forged = make() as Record<string, unknown>;
    expect(reason({ ...forged, requestedBy: { ...requestedBy, role: 'admin' } })).toMatch(/altered/);
    expect(reason({ ...forged, payload: { model: 'chat-x', force: true } })).toMatch(/altered/);
    expect(reason({ payload: { model: 'chat-x', force: true }, requestedBy: { ...requestedBy, role: 'admin' } })).toBe('not signed');
    expect(reason(make(new SigningKeys(KEY_C)))).toMatch(/unknown key/);
    expect(reason({ ...forged, sig: null })).toBe('not signed');
    expect(reason('nonsense')).toBe('not signed');
  });

  it('refuses a signed job moved to another host, kind or job id', () => {
    expect(reason(make(), keys, { host: 'gpu-1' })).toBe('signed for host gpu-2, not gpu-1');
    expect(reason(make(), keys, { kind: 'model.stop' })).toBe('signed as a model.start job, queued as model.stop');
    expect(reason(make(), keys, { jobId: 'j2' })).toMatch(/signed as job j1, queued as job j2/);
  });

  it('refuses one older than the bound (a replay), or from too far in the future', () => {
    expect(reason(make(), keys, { now: now + 600_000 })).toBe('ok');
    expect(reason(make(), keys, { now: now + 600_001 })).toMatch(/^too old: signed 10 min ago, the bound is 10 min/);
    expect(reason(make(), keys, { now: now - 700_000 })).toMatch(/in the future/);
  });

  it('takes the previous key during a rotation', () => {
    const rotated = new SigningKeys(KEY_B, KEY_A);
    expect(checkEnvelope(make(), rotated, expected)).toMatchObject({ ok: true, signed: 'previous' });
  });

  it('a lab without keys takes unsigned jobs, the old `{ payload, requestedBy }` shape included', () => {
    expect(checkEnvelope(make(null), null, expected)).toMatchObject({ ok: true, signed: null });
    expect(checkEnvelope({ payload: { a: 1 }, requestedBy: null }, null, expected)).toMatchObject({ ok: true, payload: { a: 1 } });
    expect(checkEnvelope({ payload: 1 }, null, expected)).toMatchObject({ ok: false, kind: 'malformed' });
  });

  it('keeps what a refused job claimed, for the audit row', () => {
    const r = checkEnvelope({ payload: { model: 'x', force: true }, requestedBy: { id: 'u9', name: 'adam', role: 'admin' } }, keys, expected);
    expect(r).toMatchObject({ ok: false, kind: 'signature', claimed: { requestedBy: { name: 'adam', role: 'admin' }, payload: { model: 'x', force: true } } });
  });
});

describe('signed notices', () => {
  const keys = new SigningKeys(KEY_A);
  const notice: Notice = { channel: 'alert', key: 'gpu-1:gpu0:vram-high', reply: { outcome: 'ok', tone: 'error', title: 'VRAM high', blocks: [] }, at: 1 };

  it('a signed notice passes; an unsigned, altered or stranger\'s one does not', () => {
    const signed = viaRedis(signNotice(keys, notice));
    expect(checkNotice(signed, keys)).toMatchObject({ ok: true });
    expect(checkNotice(viaRedis(notice), keys)).toEqual({ ok: false, reason: 'not signed' });
    expect(checkNotice({ ...(signed as object), reply: { ...notice.reply, title: '@everyone free GPUs' } }, keys)).toMatchObject({ ok: false, reason: expect.stringMatching(/altered/) });
    expect(checkNotice({ ...(signed as object), channel: 'log' }, keys).ok).toBe(false);
    expect(checkNotice(viaRedis(signNotice(new SigningKeys(KEY_C), notice)), keys).ok).toBe(false);
    expect(checkNotice(viaRedis(signNotice(keys, notice)), new SigningKeys(KEY_B, KEY_A)).ok).toBe(true);
  });

  it('a lab without keys takes unsigned notices, but never a malformed one', () => {
    expect(checkNotice(viaRedis(notice), null)).toMatchObject({ ok: true });
    expect(checkNotice({ channel: 'everyone', reply: {}, at: 1 }, null)).toMatchObject({ ok: false });
  });
});
