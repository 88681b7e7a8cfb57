import { run, type RunResult } from '../process/run.js';

export type Env = NodeJS.ProcessEnv;

/**
 * `run()` for engines: the caller's abort is rethrown as is (a cancelled job is not a failed
 * command), and the environment given to createEngine is passed on.
 */
export async function runCommand(
  file: string,
  args: readonly string[],
  opts: { signal?: AbortSignal; timeoutMs: number; env?: Env; cwd?: string },
): Promise<RunResult> {
  const result = await run(file, args, {
    timeoutMs: opts.timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  opts.signal?.throwIfAborted();
  return result;
}

/** The first line of what a failed command said, for a message. */
export function said(result: RunResult): string {
  const text = (result.stderr || result.stdout).trim();
  if (result.timedOut) return 'timed out';
  return text.split('\n')[0] || `exit status ${result.exitCode}`;
}

export function outputLines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}
