/**
 * Lines for a person at a terminal: log lines and notices while the interactive shell runs. The
 * shell points the printer above its prompt (so a line never lands in the middle of what is being
 * typed); before it starts, after it ends and in every other process they go to stderr.
 */
export type LinePrinter = (text: string) => void;

const toStderr: LinePrinter = (text) => {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
};

let printer: LinePrinter = toStderr;

export function setLinePrinter(next: LinePrinter | null): void {
  printer = next ?? toStderr;
}

export function printLine(text: string): void {
  printer(text);
}
