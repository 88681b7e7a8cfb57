import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import { setLinePrinter } from '../../core/console-lines.js';
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
import { saveAttachments } from './write-attachments.js';

const MAX_LINES = 60;
const PROMPT = 'labops> ';

export interface ShellOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/**
 * The interactive console: the chat port over readline. Runs commands one at a time through the
 * same dispatcher as Discord; asks confirmations inline. Log lines and notices that arrive while
 * it waits for input are printed above the prompt, which is then drawn again with what was typed.
 */
export async function runShell(ctx: BotContext, caller: Caller, opts: ShellOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const terminal = Boolean((input as { isTTY?: boolean }).isTTY);
  const rl = createInterface({ input, output, prompt: PROMPT, terminal });
  const queue = lineQueue(rl);
  const write = (s: string) => output.write(s.endsWith('\n') ? s : `${s}\n`);
  const screen = promptedOutput(rl, output, terminal, write);
  const nextLine = async (prompt = PROMPT) => {
    screen.prompt(prompt);
    const line = await queue();
    screen.answered();
    return line;
  };
  setLinePrinter(screen.printAbove);

  try {
    write(`labops ${VERSION} — local shell as ${caller.name} (${caller.role ?? 'no role'}). /help lists what you may run, /quit leaves.`);
    for (;;) {
      const line = await nextLine();
      if (line === null) break;
      const trimmed = line.trim();
      if (trimmed === '') continue;
      if (['/quit', '/exit', 'quit', 'exit'].includes(trimmed)) break;
      const reply = await runLine(ctx, caller, trimmed, write, nextLine);
      const full = renderText(reply);
      const cut = cutLines(full, MAX_LINES);
      write(cut.text);
      if (cut.omitted > 0) write(`(the whole reply is in ${saveFullOutput(trimmed.split(/\s/)[0]!.replace(/\W/g, '') || 'reply', full)})`);
      if (reply.attachments?.length) write(`(attached: ${saveAttachments(reply.attachments).join(', ')})`);
    }
  } finally {
    setLinePrinter(null);
    rl.close();
  }
}

/**
 * Output shared by the shell and lines that come unasked (logs, notices): while a prompt waits,
 * such a line clears the prompt's line (a terminal) or starts a new one (a pipe), is printed, and
 * the prompt is drawn again, so a log line never sticks to `labops> `.
 */
function promptedOutput(rl: Interface, output: NodeJS.WritableStream, terminal: boolean, write: (s: string) => void) {
  let waiting = false;
  return {
    prompt(text: string) {
      rl.setPrompt(text);
      rl.prompt(true);
      waiting = true;
    },
    answered() {
      waiting = false;
      // a terminal echoed the line and its Enter; through a pipe the prompt's line is ended here
      if (!terminal) output.write('\n');
    },
    printAbove(text: string) {
      if (!waiting) {
        write(text);
        return;
      }
      // a terminal: clear the prompt's line; a pipe: end it (the old prompt stays above, alone)
      if (terminal) {
        clearLine(output, 0);
        cursorTo(output, 0);
      } else output.write('\n');
      write(text);
      rl.prompt(true);
    },
  };
}

async function runLine(ctx: BotContext, caller: Caller, line: string, write: (s: string) => void, nextLine: (prompt?: string) => Promise<string | null>): Promise<Reply> {
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
        const answer = (await nextLine(`${printableLine(request.confirmLabel)}? [y/N] `))?.trim().toLowerCase();
        return answer === 'y' || answer === 'yes';
      },
    });
  } finally {
    await progress.flush();
  }
}
