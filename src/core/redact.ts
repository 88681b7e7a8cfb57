/**
 * Removes secrets from text before it reaches a chat message or a log line: every secret value
 * the config resolved (master key, salt key, tokens, database passwords) and anything shaped like
 * one (a password inside a URL, an `sk-` key, a bearer token, a Discord bot token).
 */
const secrets = new Set<string>();
/** longest first: a secret that contains another is hidden whole */
let ordered: string[] = [];

export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4 || secrets.has(value)) return;
  secrets.add(value);
  ordered = [...secrets].sort((a, b) => b.length - a.length);
}

/** `scheme://user:password@host`: the password may hold `/` or `@` unencoded, so it runs to the last `@` of the URL. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s"'`,]*:)([^\s"'`,]+)@(?=[^@\s"'`,]*(?:[\s"'`,]|$))/gi;
const SK_KEY = /\bsk-[A-Za-z0-9_-]{6,}/g;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
const DISCORD_TOKEN = /\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}/g;

export function redact(text: string): string {
  let out = text;
  for (const secret of ordered) out = out.split(secret).join('***');
  return out
    .replace(URL_PASSWORD, '$1***@')
    .replace(SK_KEY, 'sk-***')
    .replace(BEARER, '$1***')
    .replace(DISCORD_TOKEN, '***');
}

/** The password of a `scheme://user:password@host` URL, also when it does not parse (an unencoded `/` or `@`). */
export function urlPassword(url: string): string | null {
  try {
    const parsed = new URL(url);
    if (parsed.password) return decodeURIComponent(parsed.password);
  } catch {
    // not a URL that parses: read it by hand below
  }
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:(.+)@[^@]*$/i.exec(url);
  return match ? match[1]! : null;
}

/**
 * Registers the password of a connection URL as a secret, also when the URL does not parse (a
 * missing ":" after the scheme, an unencoded "@" or "/" in the password): the user part runs from
 * "//" (or the start) to the last "@", and the password from its first ":".
 */
export function registerUrlSecrets(url: string | undefined | null): void {
  if (!url) return;
  const start = url.indexOf('//');
  const rest = start === -1 ? url : url.slice(start + 2);
  const at = rest.lastIndexOf('@');
  if (at === -1) return;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon === -1) return;
  const password = userinfo.slice(colon + 1);
  registerSecret(password);
  try {
    registerSecret(decodeURIComponent(password));
  } catch {
    // not percent-encoded: registered as it is
  }
}

/** A URL as it may be shown: password replaced. */
export function safeUrl(url: string): string {
  return redact(url);
}

/** Deep copy of a JSON-like value with every string redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
