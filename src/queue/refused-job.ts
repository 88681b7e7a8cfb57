import type { ClaimedJob } from '../contracts/job-envelope.js';
import { fields, type Reply } from '../core/reply.js';

export interface RefusedJob {
  host: string;
  jobId: string;
  kind: string;
  reason: string;
  claimed: ClaimedJob;
  /** refusals on this host today (UTC), this one included */
  today: number;
}

/** The alert key of a host's refused jobs: one message a day, edited as more come (a flood is one message). */
export const refusedJobsKey = (host: string, now = new Date()) => `${host}:jobs:refused-${now.toISOString().slice(0, 10)}`;

const expired = (reason: string) => reason.startsWith('too old');

/** The alert a worker raises when it refuses a job whose signature does not hold. */
export function refusedJobReply(r: RefusedJob): Reply {
  const who = r.claimed.requestedBy;
  const claimedBy = who ? `${who.name ?? who.id ?? '?'}${who.role ? ` (${who.role})` : ''} via ${who.adapter ?? '?'}` : 'nobody';
  return {
    outcome: 'ok',
    tone: 'error',
    title: `${r.host} refused a ${r.kind} job: bad signature — ${r.reason}`,
    blocks: [
      fields([
        { name: 'Host', value: r.host, inline: true },
        { name: 'Job', value: `${r.kind} ${r.jobId}`, inline: true },
        { name: 'Claimed requester (not trusted)', value: claimedBy, inline: true },
        { name: 'Reason', value: r.reason },
        { name: 'Refused today', value: String(r.today), inline: true },
      ]),
    ],
    hint: expired(r.reason)
      ? 'It waited longer than security.maxJobAge before the worker took it (was the worker down?), or it is an old job queued again. It did not run.'
      : 'It did not run. Something that can write to Redis queued a job the bot did not sign: check who can reach Redis (redis.password, LABOPS_BIND), and that the bot and this worker share LABOPS_JOB_KEY.',
    data: { host: r.host, jobId: r.jobId, kind: r.kind, reason: r.reason, claimed: r.claimed, today: r.today },
  };
}
