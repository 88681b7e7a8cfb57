/**
 * Ack latency of slash commands: the real `labops bot` (a child process, with a real Redis and,
 * unless --no-worker, a real worker) logged into the fake Discord; bursts of `concurrency` /status
 * commands dispatched at once over the gateway; for each, the time from the INTERACTION_CREATE
 * dispatch to the defer callback reaching the fake (both clocks in this process).
 *
 *   node dist/bench/discord-ack.js [--rounds=5] [--concurrency=50] [--no-worker]
 *
 * Budget (DESIGN.md): p99 ≤ 100 ms with 50 commands in flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startDiscordLab, type DiscordLab } from '../test/support/discord-lab.js';
import { REDIS_URL } from '../test/support/env.js';
import type { InteractionHandle } from '../test/support/fake-discord/index.js';

export const ACK_BUDGET = { p99Ms: 100, concurrency: 50 };
/** DESIGN.md: 50 /status at once, all answered within 500 ms (they read the live state, no job) */
export const ALL_ANSWERED_BUDGET_MS = 500;

export interface AckRound {
  n: number;
  p50: number;
  p99: number;
  max: number;
  /** until every command of the round had its final edit */
  allDoneMs: number;
}

export interface DiscordAckBench {
  concurrency: number;
  withWorker: boolean;
  rounds: AckRound[];
  /** over all rounds */
  p50: number;
  p99: number;
  max: number;
  withinBudget: boolean;
}

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function start(args: string[], env: NodeJS.ProcessEnv): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return Object.assign(child, { output: () => output });
}

async function until(what: string, check: () => boolean | Promise<boolean>, child: ChildProcess & { output: () => string }, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited (${child.exitCode}): ${child.output()}`);
    if (Date.now() > deadline) throw new Error(`${what}: timed out: ${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;

export async function benchDiscordAck(opts: { rounds?: number; concurrency?: number; worker?: boolean } = {}): Promise<DiscordAckBench> {
  const rounds = opts.rounds ?? 5;
  const concurrency = opts.concurrency ?? ACK_BUDGET.concurrency;
  const withWorker = opts.worker ?? true;
  let env: DiscordLab | undefined;
  let worker: (ChildProcess & { output: () => string }) | undefined;
  let bot: (ChildProcess & { output: () => string }) | undefined;
  try {
    env = await startDiscordLab({ fake: { heartbeatIntervalMs: 5_000 } });
    const lab = env.lab;
    if (withWorker) {
      const startedAt = Date.now();
      const w = (worker = start(['worker', '--host', 'gpu-1'], lab.env));
      const redis = new Redis(REDIS_URL);
      try {
        await until('worker heartbeat', async () => Number(await redis.hget(`${lab.prefix}:heartbeat:gpu-1`, 'lastBeat')) >= startedAt, w);
      } finally {
        redis.disconnect();
      }
    }
    const b = (bot = start(['bot'], { ...env.botEnv, LABOPS_LOG_LEVEL: 'warn' }));
    const fake = env.fake;
    await until('bot login', () => fake.gatewayLog.some((r) => r.kind === 'out' && r.t === 'GUILD_CREATE'), b);

    const burst = async (): Promise<{ acks: number[]; allDoneMs: number }> => {
      const started = Date.now();
      const handles: InteractionHandle[] = [];
      for (let i = 0; i < concurrency; i++) handles.push(fake.slashCommand({ name: 'status', user: 'alice', channel: 'ops' }));
      const acks = await Promise.all(
        handles.map(async (h) => {
          const callback = await h.waitForCallback(10_000);
          const sent = fake.gatewayLog.find((r) => r.kind === 'out' && r.t === 'INTERACTION_CREATE' && r.d?.id === h.id);
          if (!sent || callback.status !== 204) throw new Error(`interaction ${h.id}: callback ${callback.status}`);
          return callback.time - sent.time;
        }),
      );
      await Promise.all(handles.map((h) => h.waitForEdit((c) => c.status === 200 && /^Status of/.test(c.message?.embeds?.[0]?.title ?? ''), 30_000)));
      return { acks, allDoneMs: Date.now() - started };
    };

    await burst(); // warm-up, not counted
    const results: AckRound[] = [];
    const all: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const { acks, allDoneMs } = await burst();
      const sorted = [...acks].sort((a, b) => a - b);
      all.push(...acks);
      results.push({ n: acks.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? NaN, allDoneMs });
      fake.clearCalls();
      fake.gatewayLog.length = 0;
    }
    const sorted = all.sort((a, b) => a - b);
    const p99 = quantile(sorted, 0.99);
    return { concurrency, withWorker, rounds: results, p50: quantile(sorted, 0.5), p99, max: sorted.at(-1) ?? NaN, withinBudget: p99 <= ACK_BUDGET.p99Ms };
  } finally {
    await stop(bot);
    await stop(worker);
    await env?.close();
  }
}

export function formatDiscordAckBench(r: DiscordAckBench): string {
  return [
    `Discord ack: ${r.rounds.length} rounds of ${r.concurrency} /status at once, bot as a child process${r.withWorker ? ' with a real worker' : ' (no worker)'}`,
    ...r.rounds.map((x, i) => `  round ${i + 1}: p50 ${x.p50} ms · p99 ${x.p99} ms · max ${x.max} ms · all ${x.n} answered in ${x.allDoneMs} ms`),
    `overall: p50 ${r.p50} ms · p99 ${r.p99} ms · max ${r.max} ms; budget p99 ≤ ${ACK_BUDGET.p99Ms} ms: ${r.withinBudget ? 'within budget' : 'OVER BUDGET'}`,
    `all ${r.concurrency} answered (final reply): slowest round ${Math.max(...r.rounds.map((x) => x.allDoneMs))} ms; budget ≤ ${ALL_ANSWERED_BUDGET_MS} ms: ${r.rounds.every((x) => x.allDoneMs <= ALL_ANSWERED_BUDGET_MS) ? 'within budget' : 'OVER BUDGET'}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const num = (name: string) => {
    const arg = argv.find((a) => a.startsWith(`--${name}=`));
    return arg ? Number(arg.slice(name.length + 3)) : undefined;
  };
  const result = await benchDiscordAck({ rounds: num('rounds'), concurrency: num('concurrency'), worker: !argv.includes('--no-worker') });
  console.log(formatDiscordAckBench(result));
  console.log(JSON.stringify(result));
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
