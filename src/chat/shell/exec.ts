import type { BotContext } from '../../bot/context.js';
import { errorMessage, isUserError } from '../../core/errors.js';
import { writeAttachments } from './write-attachments.js';
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
  /** where the reply's attachment (a chart) is written */
  out?: string;
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
  let code = exitCode(reply.outcome);
  if (opts.out !== undefined) {
    const attachments = reply.attachments ?? [];
    if (attachments.length === 0) {
      stderr.write(`--out: this reply has no file to write; nothing was written to ${printableLine(opts.out)}.\n`);
      if (code === 0) code = 1;
    } else {
      try {
        for (const file of writeAttachments(attachments, opts.out)) stderr.write(`wrote ${printableLine(file)}\n`);
      } catch (err) {
        stderr.write(`--out: could not write ${printableLine(opts.out)}: ${printableLine(errorMessage(err))}\n`);
        if (code === 0) code = 1;
      }
    }
  }
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
