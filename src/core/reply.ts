/**
 * What a command answers: structured data that each adapter renders its own way (plain text for
 * the shell and exec, embeds for Discord, JSON for `exec --json`).
 */
export type Tone = 'ok' | 'info' | 'warn' | 'error';

/** How a command ended; exec turns it into an exit code (ok 0; failed, declined, error 1; usage, denied 2). */
export type Outcome = 'ok' | 'failed' | 'declined' | 'usage' | 'denied' | 'error';

export interface Field {
  name: string;
  value: string;
  inline?: boolean;
}

export type Block =
  /** starts a new section (its own embed on Discord) */
  | { kind: 'heading'; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'fields'; fields: Field[] }
  | { kind: 'table'; title?: string; columns: string[]; rows: string[][] }
  /** an image attached to the reply (`Reply.attachments`, by file name): Discord shows it in this section, text renderers print `alt` */
  | { kind: 'image'; file: string; alt: string[] };

/** A file sent with the reply: Discord uploads it, `exec --out` writes it, the shell saves it. */
export interface Attachment {
  name: string;
  contentType: string;
  data: Buffer;
}

/** A follow-up the user may take with one click: a command line run as whoever presses it. */
export interface Action {
  label: string;
  command: string;
  options: Record<string, string | number | boolean>;
  style?: 'primary' | 'secondary' | 'danger';
}

export interface Reply {
  outcome: Outcome;
  tone: Tone;
  title: string;
  blocks: Block[];
  /** one line on what to do next */
  hint?: string;
  actions?: Action[];
  /** the structured result, for `exec --json` and tests */
  data?: unknown;
  attachments?: Attachment[];
}

export const heading = (t: string): Block => ({ kind: 'heading', text: t });
export const text = (t: string): Block => ({ kind: 'text', text: t });
export const fields = (f: Field[]): Block => ({ kind: 'fields', fields: f });
export const image = (file: string, alt: string[]): Block => ({ kind: 'image', file, alt });
export const table = (columns: string[], rows: string[][], title?: string): Block => ({ kind: 'table', columns, rows, ...(title ? { title } : {}) });

type Extra = Partial<Pick<Reply, 'hint' | 'actions' | 'data' | 'tone' | 'attachments'>>;

export function ok(title: string, blocks: Block[] = [], extra: Extra = {}): Reply {
  return { outcome: 'ok', tone: 'ok', title, blocks, ...extra };
}

export function info(title: string, blocks: Block[] = [], extra: Extra = {}): Reply {
  return { outcome: 'ok', tone: 'info', title, blocks, ...extra };
}

export function failed(title: string, blocks: Block[] = [], extra: Extra = {}): Reply {
  return { outcome: 'failed', tone: 'error', title, blocks, ...extra };
}

export function declined(title: string, extra: Extra = {}): Reply {
  return { outcome: 'declined', tone: 'warn', title, blocks: [], ...extra };
}

/** Exit code of `labops exec` for an outcome. */
export function exitCode(outcome: Outcome): 0 | 1 | 2 {
  if (outcome === 'ok') return 0;
  if (outcome === 'usage' || outcome === 'denied') return 2;
  return 1;
}
