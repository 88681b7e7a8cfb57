import { isIP } from 'node:net';
import { resolveProvider } from '../providers.js';

/** Providers that are model servers run by the lab itself, when no `api_base` says otherwise. */
const LOCAL_PROVIDERS = new Set(['ollama', 'ollama_chat', 'hosted_vllm', 'vllm', 'llamafile', 'lm_studio', 'xinference', 'infinity', 'docker_model_runner', 'lemonade', 'oobabooga', 'triton']);
const LOCAL_SUFFIXES = ['.local', '.lan', '.internal', '.home', '.home.arpa', '.localdomain', '.localhost'];

/** A deployment served by the lab's own hardware: its `api_base` is on a loopback or private address (or a LAN name), or a local-server provider without one. */
export function isLocalDeployment(params: Record<string, unknown>): boolean {
  const apiBase = params.api_base;
  if (typeof apiBase === 'string' && apiBase !== '') return isLocalUrl(apiBase);
  const provider = resolveProvider(params);
  return provider !== undefined && LOCAL_PROVIDERS.has(provider);
}

export function isLocalUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (host === 'localhost' || host === '0.0.0.0') return true;
  const ip = isIP(host);
  if (ip === 4) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
  }
  if (ip === 6) return host === '::1' || /^f[cd]/.test(host) || host.startsWith('fe80:');
  return !host.includes('.') || LOCAL_SUFFIXES.some((s) => host.endsWith(s));
}
