import { execa } from 'execa';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** the program itself was not found */
  missing: boolean;
  timedOut: boolean;
}

/**
 * Runs a program with an argv array: no shell, so no name from anywhere is ever interpreted as
 * shell syntax. Never throws for a non-zero exit; the caller decides what an exit code means.
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
    ...(opts.env ? { env: opts.env } : {}),
    encoding: 'utf8',
    stripFinalNewline: true,
  });
  const missing = (result as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(result.message ?? ''));
  return {
    exitCode: typeof result.exitCode === 'number' ? result.exitCode : -1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    missing,
    timedOut: Boolean(result.timedOut),
  };
}
