import { z } from 'zod';

export interface AuditEntry {
  /** set by the caller when it must name the row before it is written (a repair's undo); else a new uuid */
  id?: string;
  kind: 'command' | 'job' | 'button' | 'system';
  actorId: string;
  actorName: string;
  role: string | null;
  adapter: string;
  channel: string | null;
  command: string;
  args: Record<string, unknown>;
  host: string | null;
  jobId: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: string;
  error: string | null;
  /** for repairs: the rows before and after */
  detail?: unknown;
}

export interface AuditRow extends AuditEntry {
  id: string;
}

export interface AuditHealth {
  ok: boolean;
  /** rows waiting in Redis or in the local spool file for PostgreSQL */
  pending: number;
  /** rows PostgreSQL refused even after cleaning; kept aside in Redis, never retried in front of the others */
  rejected: number;
  reason: string | null;
}

/** A row as it waits in Redis or the spool file (JSON): checked when read back. */
export const waitingRowSchema = z.object({
  id: z.string(),
  kind: z.enum(['command', 'job', 'button', 'system']),
  actorId: z.string(),
  actorName: z.string(),
  role: z.string().nullable(),
  adapter: z.string(),
  channel: z.string().nullable(),
  command: z.string(),
  args: z.record(z.string(), z.unknown()),
  host: z.string().nullable(),
  jobId: z.string().nullable(),
  startedAt: z.coerce.date(),
  finishedAt: z.coerce.date().nullable(),
  outcome: z.string(),
  error: z.string().nullable(),
  detail: z.unknown().optional(),
});
