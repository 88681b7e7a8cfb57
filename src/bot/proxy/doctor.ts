import type { Caller } from '../../chat/command.js';
import { requesterOf } from '../../chat/requester.js';
import { notConfigured } from '../../config/not-configured.js';
import { doctorRun, type DoctorResult, type Finding } from '../../contracts/doctor.js';
import { errorMessage, isUserError } from '../../core/errors.js';
import type { Reply } from '../../core/reply.js';
import type { BotContext } from '../context.js';
import { assertWorkerOnline } from '../lifecycle/worker-online.js';
import { doctorReply, type HostDoctor } from './doctor-reply.js';

/**
 * /doctor: `doctor.run` on each host's worker (the proxy's host runs the LiteLLM checks too). A
 * host whose worker cannot answer is reported as checks that could not run, never as healthy.
 */
export async function runDoctorCommand(ctx: BotContext, caller: Caller, host: string | undefined, progress: (text: string) => void): Promise<Reply> {
  const hosts = ctx.inventory.selectHosts(host);
  const proxyHost = ctx.config.litellm.host;
  const requestedBy = requesterOf(caller);
  const reports = await Promise.all(
    hosts.map(async (h): Promise<HostDoctor> => {
      try {
        await assertWorkerOnline(ctx, h);
        progress(`checking ${h}`);
        const result: DoctorResult = await ctx.jobs.run(doctorRun, h, {}, { requestedBy, waitMs: doctorRun.timeoutMs + 10_000, dropIfUnanswered: true, onProgress: (text) => progress(`${h}: ${text}`) });
        return { host: h, result, problem: null };
      } catch (err) {
        if (!isUserError(err)) throw err;
        return { host: h, result: null, problem: errorMessage(err) };
      }
    }),
  );
  const findings: Finding[] = reports.flatMap((r) => r.result?.findings ?? unreachable(r.host, r.host === proxyHost, r.problem ?? 'no answer'));
  if (!proxyHost && host === undefined) {
    findings.unshift({
      check: 'proxy-live',
      subject: 'litellm.host',
      severity: 'error',
      message: `${notConfigured(ctx.config, 'litellm.host')}: the LiteLLM checks run on the worker of the proxy's host, so none of them ran.`,
      repair: null,
      checked: false,
      host: '-',
    });
  }
  return doctorReply(findings, reports, hosts);
}

/** The checks a host's worker would have run, as checks that could not run. */
function unreachable(host: string, proxyHost: boolean, why: string): Finding[] {
  const base = { severity: 'error' as const, repair: null, checked: false, host };
  return [
    ...(proxyHost ? [{ ...base, check: 'proxy-live' as const, subject: host, message: `${why} None of the LiteLLM checks ran (they run on ${host}, the proxy's host).` }] : []),
    { ...base, check: 'boot-services' as const, subject: host, message: `${why} The units started at boot on ${host} were not checked.` },
  ];
}
