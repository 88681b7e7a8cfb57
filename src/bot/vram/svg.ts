/** Characters XML 1.0 does not allow at all, escaped or not. */
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** Text or attribute value made safe to put inside the SVG. */
export function esc(text: string): string {
  return text
    .replace(NOT_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export type Attrs = Record<string, string | number | undefined>;

/** coordinates rounded to 0.1 px keep the SVG small */
const num = (n: number) => String(Math.round(n * 10) / 10);

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : esc(v!)}"`)
    .join('');
}

export const el = (name: string, a: Attrs, children?: string) => (children === undefined ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${children}</${name}>`);

export const text = (x: number, y: number, content: string, a: Attrs = {}) => el('text', { x, y, ...a }, esc(content));

export const line = (x1: number, y1: number, x2: number, y2: number, a: Attrs) => el('line', { x1, y1, x2, y2, ...a });

export const rect = (x: number, y: number, width: number, height: number, a: Attrs) => el('rect', { x, y, width, height, ...a });

/** points of a polygon or polyline */
export const points = (pts: readonly (readonly [number, number])[]) => pts.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');

/** the centre of the px row or column nearest `v`: a 1 px line there is crisp */
export const crisp = (v: number) => Math.round(v) + 0.5;
