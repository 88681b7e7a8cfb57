import type { RunResult } from '../process/spawn.js';

export type Env = NodeJS.ProcessEnv;

/** The first line of what a failed command said, for a message. */
export function said(result: RunResult): string {
  const text = (result.stderr || result.stdout).trim();
  if (result.timedOut) return 'timed out';
  return text.split('\n')[0] || `exit status ${result.exitCode}`;
}

export function outputLines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}
