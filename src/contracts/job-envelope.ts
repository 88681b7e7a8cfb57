import { z } from 'zod';
import { formatDuration } from '../core/duration.js';
import type { KeyUsed, Signature, SigningKeys } from '../core/signing-keys.js';
import { requesterSchema, type Requester } from './define.js';

/**
 * What a job carries in BullMQ (`job.data`): the payload for its processor, who asked, and what it
 * was made for (host, kind, job id, creation time), signed by whoever queued it.
 *
 * The signature covers every field but itself, and nothing BullMQ changes between attempts (the
 * attempt counters, the timestamps of moves, the progress), so a job re-run after a stalled worker
 * verifies as it did the first time.
 */
export interface JobEnvelope {
  v: 1;
  kind: string;
  host: string;
  jobId: string;
  /** ms since the epoch, on the signer's clock */
  createdAt: number;
  requestedBy: Requester | null;
  payload: unknown;
  /** absent when the lab runs unsigned (one host, no key) */
  sig?: Signature;
}

export const JOB_DOMAIN = 'labops/job/v1';

/** The fields a signature covers, in the order they are described; canonical JSON sorts them anyway. */
const signedPart = (e: Omit<JobEnvelope, 'sig'>) => ({
  v: e.v,
  kind: e.kind,
  host: e.host,
  jobId: e.jobId,
  createdAt: e.createdAt,
  requestedBy: e.requestedBy,
  payload: e.payload,
});

/** The envelope for a new job, signed when the lab has a key. */
export function createEnvelope(keys: SigningKeys | null, fields: Omit<JobEnvelope, 'v' | 'sig'>): JobEnvelope {
  const envelope: JobEnvelope = { v: 1, ...fields };
  // JSON drops an undefined payload; sign what the worker will read back
  if (envelope.payload === undefined) envelope.payload = null;
  return keys ? { ...envelope, sig: keys.sign(JOB_DOMAIN, signedPart(envelope)) } : envelope;
}

/** The fields of an envelope as read back; a legacy `{ payload, requestedBy }` (unsigned) parses too. */
const envelopeSchema = z.object({
  v: z.literal(1).optional(),
  kind: z.string().optional(),
  host: z.string().optional(),
  jobId: z.string().optional(),
  createdAt: z.number().optional(),
  requestedBy: requesterSchema.nullable(),
  payload: z.unknown(),
  sig: z.unknown().optional(),
});

/** What a refused job claimed, for its audit row and its alert: nothing of it is trusted. */
export interface ClaimedJob {
  requestedBy: Partial<Requester> | null;
  payload: unknown;
  createdAt: number | null;
}

export type EnvelopeCheck =
  | { ok: true; payload: unknown; requestedBy: Requester | null; signed: KeyUsed | null }
  | { ok: false; kind: 'malformed' | 'signature'; reason: string; claimed: ClaimedJob };

export interface Expected {
  host: string;
  kind: string;
  jobId: string;
  /** how old the job may be, by its signed creation time (and how far in the future, for clock skew) */
  maxAgeMs: number;
  now?: number;
}

/**
 * Checks a job's data as BullMQ hands it over. With keys: it must be signed by one of them, for
 * this host, this kind and this job id, and be no older than `maxAgeMs`. Without keys (a one-host
 * lab that runs unsigned) only its shape is checked.
 */
export function checkEnvelope(data: unknown, keys: SigningKeys | null, expected: Expected): EnvelopeCheck {
  const claimed = claimedOf(data);
  const parsed = envelopeSchema.safeParse(data);
  if (!keys) {
    if (!parsed.success) return { ok: false, kind: 'malformed', reason: `malformed job data: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`, claimed };
    return { ok: true, payload: parsed.data.payload, requestedBy: parsed.data.requestedBy, signed: null };
  }
  const refuse = (reason: string): EnvelopeCheck => ({ ok: false, kind: 'signature', reason, claimed });
  const raw = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  if (raw.sig === undefined) return refuse('not signed');
  if (!parsed.success || parsed.data.v !== 1 || parsed.data.kind === undefined || parsed.data.host === undefined || parsed.data.jobId === undefined || parsed.data.createdAt === undefined) {
    return refuse('the signed envelope is incomplete or malformed');
  }
  // verified over the data as it came, not as parsed: parsing drops what it does not know
  const verified = keys.verify(JOB_DOMAIN, signedPart(raw as unknown as Omit<JobEnvelope, 'sig'>), raw.sig);
  if (!verified.ok) return refuse(verified.reason);
  const e = parsed.data as Omit<JobEnvelope, 'sig'>;
  // signed by us: now what it was signed for must be what it is
  if (e.host !== expected.host) return refuse(`signed for host ${e.host}, not ${expected.host}`);
  if (e.kind !== expected.kind) return refuse(`signed as a ${e.kind} job, queued as ${expected.kind}`);
  if (e.jobId !== expected.jobId) return refuse(`signed as job ${e.jobId}, queued as job ${expected.jobId} (a copy)`);
  const now = expected.now ?? Date.now();
  const age = now - e.createdAt;
  if (age > expected.maxAgeMs) return refuse(`too old: signed ${formatDuration(age)} ago, the bound is ${formatDuration(expected.maxAgeMs)} (security.maxJobAge)`);
  if (-age > expected.maxAgeMs) return refuse(`signed ${formatDuration(-age)} in the future: are the clocks of the bot and this host apart?`);
  return { ok: true, payload: e.payload, requestedBy: e.requestedBy, signed: verified.key };
}

const looseRequester = z.object({ id: z.string(), name: z.string(), role: z.string().nullable(), adapter: z.string(), channel: z.string() }).partial();

function claimedOf(data: unknown): ClaimedJob {
  const raw = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const requester = looseRequester.safeParse(raw.requestedBy);
  return {
    requestedBy: requester.success && raw.requestedBy ? requester.data : null,
    payload: raw.payload,
    createdAt: typeof raw.createdAt === 'number' ? raw.createdAt : null,
  };
}
