import { execa } from 'execa';

/**
 * Starts a program that outlives the worker: its own process group (so a signal to the worker's
 * group does not reach it), stdout and stderr appended to `logFd`, not killed when the worker
 * exits, and not holding the worker's event loop open. An argv array, never a shell.
 *
 * This is the one place outside src/exec.ts that spawns, because `run()` waits for its program.
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
