import { redact } from '../core/redact.js';
import type { Block, Reply } from '../core/reply.js';

/**
 * What a renderer may print: control characters (ANSI escapes, NUL, carriage returns, …) and the
 * invisible bidirectional overrides are shown as visible escapes (`\x1b`, `\u202e`), never sent to a
 * terminal or Discord as they are; a line break inside a one-line field (a title, a table cell)
 * becomes `⏎`, so no text can fake an extra line of a table or of /log.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const BREAK = /\r\n|\r|\n|\t/g;

const escape = (ch: string) => {
  const code = ch.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** One line of text, safe to print. */
export function printableLine(text: string): string {
  return text.replace(BREAK, (b) => (b === '\t' ? ' ' : '⏎')).replace(CONTROL, escape);
}

/** Text that may span lines, safe to print (line breaks kept). */
export function printableText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\t/g, '  ').replace(CONTROL, escape);
}

/** The whole reply as every renderer prints it: redacted, escaped, one-line fields kept on one line. */
export function printableReply(reply: Reply): Reply {
  const line = (s: string) => printableLine(redact(s));
  const text = (s: string) => printableText(redact(s));
  const block = (b: Block): Block => {
    switch (b.kind) {
      case 'heading':
        return { kind: 'heading', text: line(b.text) };
      case 'text':
        return { kind: 'text', text: text(b.text) };
      case 'fields':
        return { kind: 'fields', fields: b.fields.map((f) => ({ ...f, name: line(f.name), value: text(f.value) })) };
      case 'table':
        return { kind: 'table', columns: b.columns.map(line), rows: b.rows.map((r) => r.map(line)), ...(b.title ? { title: line(b.title) } : {}) };
      case 'image':
        return { kind: 'image', file: b.file, alt: b.alt.map(line) };
    }
  };
  return {
    ...reply,
    title: line(reply.title),
    blocks: reply.blocks.map(block),
    ...(reply.hint !== undefined ? { hint: line(reply.hint) } : {}),
    ...(reply.actions ? { actions: reply.actions.map((a) => ({ ...a, label: line(a.label) })) } : {}),
  };
}
