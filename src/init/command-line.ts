/**
 * What a model server's command line says about it: which server it is, the ports it listens on,
 * the model it serves and, for LiteLLM, its config file. Only read, never run.
 */
export type ServerKind = 'llamacpp' | 'vllm' | 'sglang' | 'tei' | 'infinity' | 'ollama' | 'litellm' | 'unknown';

export interface ServerCommand {
  kind: ServerKind;
  /** ports it listens on: named on the command line, else the server's default */
  ports: number[];
  /** false when `ports` is only the server's default */
  portGiven: boolean;
  /** the model: a file (llama.cpp), a repository (vLLM, TEI) or an Ollama tag */
  model?: string;
  /** the id an OpenAI-compatible `/v1/models` lists (`--served-model-name`, `--alias`) */
  servedName?: string;
  /** LiteLLM's `--config` */
  configPath?: string;
  /** words that name files: a start script may be among them */
  files: string[];
}

/** What each server listens on when no port is given. */
export const DEFAULT_PORTS: Partial<Record<ServerKind, number>> = {
  llamacpp: 8080,
  vllm: 8000,
  sglang: 30000,
  tei: 3000,
  infinity: 7997,
  ollama: 11434,
  litellm: 4000,
};

/** The engine part of a `[type]-[name]-[engine]` model name. */
export const ENGINE_SUFFIX: Partial<Record<ServerKind, string>> = {
  llamacpp: 'llamacpp',
  vllm: 'vllm',
  sglang: 'sglang',
  tei: 'tei',
  infinity: 'infinity',
  ollama: 'ollama',
};

export const SERVER_NAMES: Record<ServerKind, string> = {
  llamacpp: 'llama.cpp llama-server',
  vllm: 'vLLM',
  sglang: 'SGLang',
  tei: 'text-embeddings-inference',
  infinity: 'Infinity',
  ollama: 'Ollama',
  litellm: 'LiteLLM proxy',
  unknown: 'a server',
};

const PORT_FLAGS = new Set(['--port', '-p', '--http-port', '--listen-port', '--server-port']);
const ADDRESS_FLAGS = new Set(['--host', '--bind', '--listen', '--address', '--hostname', '-H']);
const HOST_PORT = /^(?:(?:\d{1,3}(?:\.\d{1,3}){3})|localhost|\[[0-9a-fA-F:]+\]|[a-zA-Z][\w.-]*)?:(\d{2,5})$/;

const MODEL_FLAGS: Partial<Record<ServerKind, string[]>> = {
  llamacpp: ['-m', '--model', '-hf', '--hf-repo', '-mu', '--model-url'],
  vllm: ['--model'],
  sglang: ['--model-path', '--model'],
  tei: ['--model-id'],
  infinity: ['--model-id', '--model-name-or-path'],
};
const SERVED_NAME_FLAGS: Partial<Record<ServerKind, string[]>> = {
  llamacpp: ['-a', '--alias'],
  vllm: ['--served-model-name'],
  sglang: ['--served-model-name'],
  tei: ['--served-model-name'],
  infinity: ['--served-model-name'],
};

/**
 * Reads a command line. `env` (a unit's `Environment=`, a script's assignments) fills `$NAME` and
 * `${NAME}` (and `${NAME:-default}`); `sh -c "…"` and `env A=B prog` are looked through.
 */
export function analyzeCommand(argv: readonly string[], env: Readonly<Record<string, string>> = {}): ServerCommand {
  const vars = { ...env };
  let words = argv.map((w) => expandVars(w, vars));
  // `env A=B prog …` and leading assignments
  while (words.length > 0 && (basename(words[0]!) === 'env' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!))) {
    const [first, ...rest] = words;
    if (basename(first!) !== 'env') {
      const eq = first!.indexOf('=');
      vars[first!.slice(0, eq)] = first!.slice(eq + 1);
    }
    words = rest;
  }
  // `sh -c "…"`: the command is the string
  const dashC = words.findIndex((w, i) => w === '-c' && i > 0 && /^(ba|da|z)?sh$/.test(basename(words[i - 1]!)));
  if (dashC >= 0 && words[dashC + 1] !== undefined) words = serverSegment(splitShellWords(expandVars(words[dashC + 1]!, vars)));

  const kind = kindOf(words);
  const ports = new Set<number>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = words[i + 1];
    const eq = word.indexOf('=');
    const flag = eq > 0 && word.startsWith('-') ? word.slice(0, eq) : word;
    const value = eq > 0 && word.startsWith('-') ? word.slice(eq + 1) : next;
    if (PORT_FLAGS.has(flag) && value !== undefined && /^\d{1,5}$/.test(value)) addPort(ports, value);
    else if (ADDRESS_FLAGS.has(flag) && value !== undefined) {
      const m = HOST_PORT.exec(value);
      if (m) addPort(ports, m[1]!);
    } else if (!word.startsWith('-')) {
      const m = HOST_PORT.exec(word);
      if (m && (!/^[a-zA-Z]/.test(word) || word.startsWith('localhost:'))) addPort(ports, m[1]!);
    }
  }
  if (kind === 'ollama' && vars.OLLAMA_HOST) {
    const port = hostPortOf(vars.OLLAMA_HOST);
    if (port) ports.add(port);
  }
  const portGiven = ports.size > 0;
  if (!portGiven && DEFAULT_PORTS[kind] !== undefined) ports.add(DEFAULT_PORTS[kind]);

  return {
    kind,
    ports: [...ports],
    portGiven,
    ...optional('model', modelOf(kind, words)),
    ...optional('servedName', flagValue(words, SERVED_NAME_FLAGS[kind] ?? [])),
    ...optional('configPath', kind === 'litellm' ? flagValue(words, ['--config', '-c']) : undefined),
    files: words.filter((w) => !w.startsWith('-') && w.includes('/') && !/^[a-z]+:\/\//i.test(w)),
  };
}

/** Of `a ; b && c | d`, the command that runs a known server (else the whole line). */
export function serverSegment(words: readonly string[]): string[] {
  const segments: string[][] = [[]];
  for (const word of words) {
    if (word === ';' || word === '&' || word === '|') segments.push([]);
    else segments.at(-1)!.push(word);
  }
  return segments.find((s) => kindOf(s) !== 'unknown') ?? words.filter((w) => w !== ';' && w !== '&' && w !== '|');
}

function kindOf(words: readonly string[]): ServerKind {
  for (let i = 0; i < words.length; i++) {
    const name = basename(words[i]!);
    const next = words[i + 1];
    if (name === 'llama-server' || name === 'llama-cpp-server' || name === 'llama_cpp.server') return 'llamacpp';
    if ((name === 'vllm' && next === 'serve') || name.startsWith('vllm.entrypoints')) return 'vllm';
    if (name === 'sglang.launch_server' || (name === 'sglang' && next === 'serve')) return 'sglang';
    if (name === 'text-embeddings-router') return 'tei';
    if (name === 'infinity_emb' || name === 'infinity-emb') return 'infinity';
    if (name === 'ollama' && next === 'serve') return 'ollama';
    if (name === 'litellm' || name === 'litellm.proxy.proxy_cli') return 'litellm';
  }
  return 'unknown';
}

function modelOf(kind: ServerKind, words: readonly string[]): string | undefined {
  const flagged = flagValue(words, MODEL_FLAGS[kind] ?? []);
  if (flagged) return flagged;
  if (kind === 'vllm') {
    // `vllm serve <model> [options]`
    const serve = words.findIndex((w, i) => w === 'serve' && basename(words[i - 1] ?? '') === 'vllm');
    const model = serve >= 0 ? words[serve + 1] : undefined;
    if (model && !model.startsWith('-')) return model;
  }
  return undefined;
}

function flagValue(words: readonly string[], flags: readonly string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    for (const flag of flags) {
      if (word === flag && words[i + 1] !== undefined && !words[i + 1]!.startsWith('-')) return words[i + 1];
      if (word.startsWith(`${flag}=`)) return word.slice(flag.length + 1);
    }
  }
  return undefined;
}

function addPort(ports: Set<number>, text: string): void {
  const port = Number(text);
  if (Number.isInteger(port) && port > 0 && port < 65536) ports.add(port);
}

/** `127.0.0.1:11434`, `:11434`, `http://0.0.0.0:11434`, `0.0.0.0` (no port: undefined). */
export function hostPortOf(value: string): number | undefined {
  const m = /:(\d{1,5})\/?$/.exec(value.trim());
  const port = m ? Number(m[1]) : NaN;
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/** `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`; unknown names are left as written. */
export function expandVars(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    const value = vars[name];
    if (value !== undefined && value !== '') return value;
    return fallback ?? whole;
  });
}

/**
 * Words of a shell command as the shell would split them (quotes and backslashes; no expansion,
 * no globbing), for reading, never for running.
 */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i]!;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i]!;
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === '#' && word === null) {
      break; // a comment
    } else if ((c === ';' || c === '&' || c === '|') && quote === null) {
      // the end of one command: what follows is another
      if (word !== null) words.push(word);
      word = null;
      words.push(c);
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return words;
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
