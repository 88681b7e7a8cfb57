import { createInterface } from 'node:readline';
import type { BotContext } from '../../bot/context.js';
import { isUserError } from '../../core/errors.js';
import { VERSION } from '../../core/version.js';
import type { Caller, ConfirmRequest } from '../command.js';
import { parseCommandLine } from '../command-line.js';
import { dispatch, fromUserError } from '../dispatch.js';
import { redact } from '../../core/redact.js';
import { printableLine, printableText } from '../printable.js';
import { cutLines, renderText } from '../render-text.js';
import type { Reply } from '../../core/reply.js';
import { throttleLatest } from '../throttle.js';
import { lineQueue } from './line-queue.js';
import { saveFullOutput } from './save-output.js';

const MAX_LINES = 60;

export interface ShellOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/**
 * The interactive console: the chat port over readline. Runs commands one at a time through the
 * same dispatcher as Discord; asks confirmations inline.
 */
export async function runShell(ctx: BotContext, caller: Caller, opts: ShellOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const rl = createInterface({ input, output, prompt: 'labops> ', terminal: Boolean((input as { isTTY?: boolean }).isTTY) });
  const nextLine = lineQueue(rl);
  const write = (s: string) => output.write(s.endsWith('\n') ? s : `${s}\n`);

  write(
    `labops ${VERSION} — local shell as ${caller.name} (${caller.role ?? 'no role'}). /help lists what you may run, /quit leaves.`,
  );
  rl.prompt();
  for (;;) {
    const line = await nextLine();
    if (line === null) break;
    const trimmed = line.trim();
    if (trimmed === '') {
      rl.prompt();
      continue;
    }
    if (['/quit', '/exit', 'quit', 'exit'].includes(trimmed)) break;
    const reply = await runLine(ctx, caller, trimmed, write, nextLine);
    const full = renderText(reply);
    const cut = cutLines(full, MAX_LINES);
    write(cut.text);
    if (cut.omitted > 0) write(`(the whole reply is in ${saveFullOutput(trimmed.split(/\s/)[0]!.replace(/\W/g, '') || 'reply', full)})`);
    rl.prompt();
  }
  rl.close();
}

async function runLine(ctx: BotContext, caller: Caller, line: string, write: (s: string) => void, nextLine: () => Promise<string | null>): Promise<Reply> {
  let parsed;
  try {
    parsed = parseCommandLine(line.startsWith('/') ? line : `/${line}`, (n) => ctx.commands.get(n));
  } catch (err) {
    if (isUserError(err)) return fromUserError(err);
    throw err;
  }
  const progress = throttleLatest<string>(1_000, (text) => write(`  … ${printableLine(redact(text))}`));
  try {
    return await dispatch(ctx, {
      caller,
      command: parsed.name,
      raw: parsed.raw,
      progress: (text) => progress.push(text),
      confirm: async (request: ConfirmRequest) => {
        await progress.flush();
        write(`${request.danger ? '⚠ ' : ''}${printableLine(redact(request.title))}${request.detail ? `\n  ${printableText(redact(request.detail)).replace(/\n/g, '\n  ')}` : ''}`);
        write(`${printableLine(request.confirmLabel)}? [y/N]`);
        const answer = (await nextLine())?.trim().toLowerCase();
        return answer === 'y' || answer === 'yes';
      },
    });
  } finally {
    await progress.flush();
  }
}
