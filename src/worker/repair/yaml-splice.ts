import { isMap, isScalar, isSeq, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';

/** One edit of config.yaml's text: [start, end) replaced. */
export interface Splice {
  start: number;
  end: number;
  text: string;
}

/**
 * config.yaml edited where it must change and nowhere else: the `yaml` Document API finds the
 * nodes and their source ranges; the new text is spliced into the original, so comments, quoting,
 * flow style and spacing everywhere else stay byte for byte.
 */
export function applySplices(text: string, splices: readonly Splice[]): string {
  let out = text;
  for (const s of [...splices].sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return out;
}

export function parse(text: string): Document {
  return parseDocument(text);
}

/** A scalar's value replaced, keeping its quotes. */
export function replaceScalar(text: string, node: Node, value: string): Splice {
  const [start, end] = node.range!;
  const quote = text[start] === '"' || text[start] === "'" ? text[start]! : '';
  return { start, end, text: `${quote}${value}${quote}` };
}

/** A `key: value` added to a mapping, in its style: `, key: value` before a flow mapping's `}`, or a line of its own at its indentation. */
export function addPair(text: string, map: YAMLMap, key: string, value: string): Splice {
  const [start, end] = map.range!;
  if (map.flow || text[start] === '{') {
    const close = text.lastIndexOf('}', end - 1);
    let at = close;
    while (at > start && /\s/.test(text[at - 1]!)) at--;
    const empty = text[at - 1] === '{';
    return { start: at, end: at, text: `${empty ? '' : ', '}${key}: ${value}` };
  }
  const first = (map.items[0]?.key as Node | undefined)?.range?.[0] ?? start;
  const indent = first - (text.lastIndexOf('\n', first - 1) + 1);
  const last = map.items.at(-1);
  const lastEnd = (last?.value as Node | undefined)?.range?.[1] ?? (last?.key as Node | undefined)?.range?.[1] ?? end;
  let lineEnd = text.indexOf('\n', lastEnd);
  if (lineEnd === -1) lineEnd = text.length;
  return { start: lineEnd, end: lineEnd, text: `\n${' '.repeat(indent)}${key}: ${value}` };
}

/** Every scalar under `node` (keys of mappings included) whose value is `value`. */
export function scalarsEqual(node: unknown, value: string, out: Node[] = []): Node[] {
  if (isScalar(node)) {
    if (node.value === value) out.push(node);
  } else if (isMap(node)) {
    for (const pair of node.items) {
      scalarsEqual(pair.key, value, out);
      scalarsEqual(pair.value, value, out);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) scalarsEqual(item, value, out);
  }
  return out;
}

export { isMap, isScalar, isSeq };
