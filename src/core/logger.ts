import { pino, type DestinationStream, type Logger } from 'pino';
import { printLine } from './console-lines.js';
import { formatLogLine } from './log-line.js';
import { redact } from './redact.js';

export type { Logger } from 'pino';

/**
 * Structured JSON logs on stderr (stdout belongs to the shell and exec adapters). Every string
 * that reaches a log line goes through `redact`. `pretty`: one readable line per record
 * (`warn: <msg> (<key>=<value> …)`) through `printLine`, for a person at the interactive shell.
 */
export function createLogger(options: { level?: string; name?: string; destination?: number | string; pretty?: boolean } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'labops',
      level: options.level ?? process.env.LABOPS_LOG_LEVEL ?? 'info',
      hooks: {
        logMethod(args, method) {
          const cleaned = args.map((a) => (typeof a === 'string' ? redact(a) : a)) as typeof args;
          method.apply(this, cleaned);
        },
      },
      formatters: {
        log(object) {
          return JSON.parse(redact(JSON.stringify(object, errorReplacer))) as Record<string, unknown>;
        },
      },
    },
    options.pretty ? prettyDestination() : pino.destination({ dest: options.destination ?? 2, sync: true }),
  );
}

function prettyDestination(): DestinationStream {
  return {
    write(chunk: string) {
      for (const record of chunk.split('\n')) if (record.trim() !== '') printLine(formatLogLine(record));
    },
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  return value;
}

/** A logger that writes nothing, for code paths and tests that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
