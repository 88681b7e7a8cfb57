import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface BotMetrics {
  registry: Registry;
  /** a command ended (any adapter), with its outcome; `command` must be a known name or "unknown" */
  commandEnded(command: string, outcome: string, adapter: string, ms: number): void;
  /** a Discord interaction was acknowledged this long after its gateway event */
  acknowledged(ms: number): void;
  stop(): void;
}

/** The bot's Prometheus metrics, in a registry of its own; the notify queue's depth is read when scraped. */
export function botMetrics(opts: { notifyDepth: () => Promise<number>; processMetrics?: boolean }): BotMetrics {
  const registry = new Registry();
  // prom-client's process metrics watch the event loop and GC: only where /metrics is served
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'labops_bot_', eventLoopMonitoringPrecision: 100 });
  const commands = new Counter({ name: 'labops_commands_total', help: 'Commands run, by name, outcome and adapter (discord, shell, exec)', labelNames: ['command', 'outcome', 'adapter'], registers: [registry] });
  const durations = new Histogram({
    name: 'labops_command_duration_seconds',
    help: 'From a command being dispatched to its reply, by name and outcome',
    labelNames: ['command', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300],
    registers: [registry],
  });
  const ack = new Histogram({
    name: 'labops_ack_latency_seconds',
    help: "From a slash command's gateway event to its acknowledgement (defer) on Discord",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'labops_notify_queue_depth',
    help: 'Alerts and notices queued and not yet delivered to chat',
    registers: [registry],
    async collect() {
      this.set(await opts.notifyDepth());
    },
  });
  return {
    registry,
    commandEnded(command, outcome, adapter, ms) {
      commands.inc({ command, outcome, adapter });
      durations.observe({ command, outcome }, ms / 1000);
    },
    acknowledged(ms) {
      ack.observe(ms / 1000);
    },
    stop() {
      registry.clear();
    },
  };
}
