import type { BotContext } from '../../bot/context.js';
import { isUserError } from '../../core/errors.js';
import type { Caller } from '../command.js';
import { parseCommandLine } from '../command-line.js';
import { dispatch, fromUserError } from '../dispatch.js';
import { redact } from '../../core/redact.js';
import { printableLine } from '../printable.js';
import { renderText } from '../render-text.js';
import { exitCode, type Reply } from '../../core/reply.js';

export interface ExecOptions {
  yes: boolean;
  json: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/**
 * One command, through the same handlers as the shell and Discord. The reply goes to stdout
 * (`--json`: the structured result), progress to stderr. Returns the exit code: 0 success,
 * 1 the command failed or was declined, 2 usage or permission error.
 */
export async function runExec(ctx: BotContext, caller: Caller, line: string, opts: ExecOptions): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const reply = await execLine(ctx, caller, line, opts, stderr);
  const code = exitCode(reply.outcome);
  if (opts.json) {
    const { outcome, tone, title, hint, data, actions } = reply;
    stdout.write(`${JSON.stringify({ outcome, exitCode: code, tone, title, hint: hint ?? null, actions: actions ?? [], data: data ?? null }, null, 2)}\n`);
  } else {
    stdout.write(`${renderText(reply)}\n`);
  }
  return code;
}

async function execLine(ctx: BotContext, caller: Caller, line: string, opts: ExecOptions, stderr: NodeJS.WritableStream): Promise<Reply> {
  let parsed;
  try {
    parsed = parseCommandLine(line.trim().startsWith('/') ? line : `/${line.trim()}`, (n) => ctx.commands.get(n));
  } catch (err) {
    if (isUserError(err)) return fromUserError(err);
    throw err;
  }
  return await dispatch(ctx, {
    caller,
    command: parsed.name,
    raw: parsed.raw,
    progress: (text) => {
      if (!opts.json) stderr.write(`… ${printableLine(redact(text))}\n`);
    },
    confirm: async (request) => {
      if (!opts.yes) stderr.write(`${printableLine(redact(request.title))}: not confirmed (run again with --yes to confirm).\n`);
      return opts.yes;
    },
  });
}
