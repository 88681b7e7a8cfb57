import { formatDuration } from './duration.js';
import { redact, safeUrl } from './redact.js';

/** fetch with a per-request timeout on top of the caller's signal; the caller's abort is rethrown as is. */
export async function fetchTimed(
  url: string,
  init: RequestInit,
  opts: { signal?: AbortSignal; timeoutMs: number },
): Promise<Response> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  try {
    const { href, authorization } = splitCredentials(url);
    const headers = new Headers(init.headers);
    if (authorization) headers.set('authorization', authorization);
    return await fetch(href, { ...init, headers, signal });
  } catch (err) {
    opts.signal?.throwIfAborted();
    throw new FetchFailure(url, describeFetchError(err, opts.timeoutMs));
  }
}

/** fetch refuses URLs with credentials; `http://user:pass@host/` becomes Basic authorization. */
function splitCredentials(url: string): { href: string; authorization?: string } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { href: url };
  const token = Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64');
  parsed.username = '';
  parsed.password = '';
  return { href: parsed.href, authorization: `Basic ${token}` };
}

/** A request that got no HTTP answer at all (refused, timed out, bad address). */
export class FetchFailure extends Error {
  override readonly name = 'FetchFailure';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`${safeUrl(url)}: ${redact(reason)}`);
  }
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer in ${timeoutMs < 1_000 ? `${timeoutMs} ms` : formatDuration(timeoutMs)}`;
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    default:
      return cause?.message ?? (err instanceof Error ? err.message : String(err));
  }
}

/** A short, single-line excerpt of a response body for a message. */
export function excerpt(text: string, max = 160): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
