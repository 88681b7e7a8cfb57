import { execa } from 'execa';

/**
 * The one module that starts child processes: always an argv array, never a shell, so no name from
 * anywhere is ever interpreted as shell syntax.
 */

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** the program itself was not found */
  missing: boolean;
  timedOut: boolean;
}

/**
 * Runs a program to its end. Never throws for a non-zero exit (the caller decides what an exit code
 * means); the caller's abort is rethrown as is (a cancelled command is not a failed one).
 */
export async function run(
  file: string,
  args: readonly string[],
  opts: { signal?: AbortSignal; timeoutMs?: number; cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<RunResult> {
  const result = await execa(file, args, {
    reject: false,
    shell: false,
    stdin: 'ignore',
    timeout: opts.timeoutMs ?? 15_000,
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    // a given environment is the whole environment (execa would otherwise add the parent's to it)
    ...(opts.env ? { env: opts.env, extendEnv: false } : {}),
    encoding: 'utf8',
    stripFinalNewline: true,
  });
  opts.signal?.throwIfAborted();
  const missing = (result as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(result.message ?? ''));
  return {
    exitCode: typeof result.exitCode === 'number' ? result.exitCode : -1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    missing,
    timedOut: Boolean(result.timedOut),
  };
}

/**
 * Starts a program that outlives the worker: its own process group (so a signal to the worker's
 * group does not reach it), stdout and stderr appended to `logFd`, not killed when the worker
 * exits, and not holding the worker's event loop open. An argv array, never a shell.
 *
 * Resolves with the PID once the program has been spawned; rejects when it could not be.
 */
export async function spawnDetached(
  file: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; logFd: number },
): Promise<number> {
  const subprocess = execa(file, [...args], {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    detached: true,
    cleanup: false,
    reject: false,
    shell: false,
    // execa passes a file descriptor straight to the child; its types only list 1 to 9
    stdio: ['ignore', opts.logFd, opts.logFd] as unknown as ['ignore', 3, 3],
  });
  subprocess.unref();
  const pid = await new Promise<number | undefined>((resolve) => {
    subprocess.once('spawn', () => resolve(subprocess.pid));
    subprocess.once('error', () => resolve(undefined));
  });
  if (pid === undefined) {
    const result = await subprocess;
    throw new Error(result.message ?? `cannot start ${file}`);
  }
  // the result is not awaited beyond this point: reaping is left to Node, the exit code to the pid file
  void subprocess.catch(() => undefined);
  return pid;
}

export interface StreamEnd {
  exitCode: number;
  signal?: string;
  /** the program itself was not found */
  missing: boolean;
}

/**
 * A long-lived program whose output is read line by line as it comes (stdout and stderr alike),
 * however the pipe splits it into chunks. Stopped by the signal (SIGTERM, then SIGKILL after 2 s).
 */
export function streamLines(file: string, args: readonly string[], opts: { signal: AbortSignal; onLine: (line: string) => void }): { pid: number | undefined; done: Promise<StreamEnd> } {
  const child = execa(file, [...args], { buffer: false, reject: false, stdin: 'ignore', cancelSignal: opts.signal, forceKillAfterDelay: 2_000 });
  const out = lineSplitter(opts.onLine);
  const err = lineSplitter(opts.onLine);
  child.stdout.setEncoding('utf8').on('data', out.push);
  child.stderr.setEncoding('utf8').on('data', err.push);
  const done = child.then((result) => {
    // a last line without its newline is a line too
    out.end();
    err.end();
    return {
      exitCode: typeof result.exitCode === 'number' ? result.exitCode : -1,
      ...(result.signal ? { signal: result.signal } : {}),
      missing: (result as { code?: string }).code === 'ENOENT',
    };
  });
  return { pid: child.pid, done };
}

/** Calls `onLine` for each complete line of a text stream's chunks, and at `end` for what is left. */
export function lineSplitter(onLine: (line: string) => void): { push: (chunk: string) => void; end: () => void } {
  let rest = '';
  return {
    push: (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) onLine(line);
    },
    end: () => {
      if (rest) onLine(rest);
      rest = '';
    },
  };
}
