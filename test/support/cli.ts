import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_URL, ROOT } from './env.js';

export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `labops <args>` to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`labops ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A long-running `labops` process (worker, shell, all) whose output a test can wait on. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT });
    this.child.stdout.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Waits until stdout (or stderr) matches, looking only at output after `from`. */
  async waitFor(pattern: RegExp, opts: { stream?: 'stdout' | 'stderr'; timeoutMs?: number; from?: number } = {}): Promise<string> {
    const stream = opts.stream ?? 'stdout';
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    for (;;) {
      const text = this[stream].slice(opts.from ?? 0);
      const match = pattern.exec(text);
      if (match) return match[0];
      if (this.child.exitCode !== null) throw new Error(`process exited (${this.child.exitCode}) before ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  wait(): Promise<number | null> {
    return this.exited;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts `labops worker --host <host>` and waits until its heartbeat is in Redis. */
export async function startWorkerProcess(lab: { env: NodeJS.ProcessEnv; prefix: string }, host = 'gpu-1', env: NodeJS.ProcessEnv = {}, redisUrl = REDIS_URL): Promise<CliProcess> {
  const worker = new CliProcess(['worker', '--host', host], { ...lab.env, ...env });
  const redis = new Redis(redisUrl);
  try {
    const started = Date.now();
    const deadline = started + 15_000;
    const fresh = async () => {
      const hb = await redis.hmget(`${lab.prefix}:heartbeat:${host}`, 'lastBeat', 'pid');
      return Number(hb[0]) >= started && Number(hb[1]) === worker.child.pid;
    };
    while (!(await fresh())) {
      if (worker.child.exitCode !== null) throw new Error(`worker exited (${worker.child.exitCode}): ${worker.stderr}`);
      if (Date.now() > deadline) throw new Error(`worker for ${host} did not heartbeat within 15 s: ${worker.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    redis.disconnect();
  }
  return worker;
}
