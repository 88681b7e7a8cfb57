import { hostname, networkInterfaces } from 'node:os';

export type Where =
  | { at: 'local'; host: string; port: number; base: string }
  | { at: 'lan'; host: string }
  | { at: 'cloud'; host?: string }
  | { at: 'unknown' };

/** This machine's own names and addresses (an api_base at one of them is served here). */
export function localAddresses(): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '0.0.0.0', '::1', '::', 'host.docker.internal', hostname().toLowerCase()]);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(a.address.toLowerCase());
  return names;
}

const PRIVATE = [/^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^169\.254\./, /^f[cd][0-9a-f]{2}:/, /^fe80:/];

/**
 * Where an api_base is served: on this host (with its port), on another host of the lab (a private
 * address or a single-label or `.local`/`.lan` name), or by a cloud provider.
 */
export function whereServed(apiBase: string | undefined, local: ReadonlySet<string>, provider?: string): Where {
  // no api_base: the provider's own endpoint (Ollama's is on this host)
  if (!apiBase) return provider ? { at: 'cloud' } : { at: 'unknown' };
  let url: URL;
  try {
    url = new URL(apiBase);
  } catch {
    return { at: 'unknown' };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (local.has(host) || /^127\./.test(host)) {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    return { at: 'local', host, port, base: `${url.protocol}//${url.host}` };
  }
  if (PRIVATE.some((re) => re.test(host)) || !host.includes('.') || /\.(local|lan|internal|home\.arpa)$/.test(host)) return { at: 'lan', host };
  return { at: 'cloud', host };
}

/** The address to probe a local server at: the one LiteLLM uses, except a wildcard or a container's name for the host. */
export function probeHost(host: string | undefined): string {
  if (!host || host === '0.0.0.0' || host === '::' || host === 'host.docker.internal') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
