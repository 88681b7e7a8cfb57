/**
 * One text per JSON value, for signing: object keys sorted by UTF-16 code units (as `Array.sort`
 * orders them), no white space, strings and numbers written as `JSON.stringify` writes them.
 *
 * A value is first taken through `JSON.stringify`/`JSON.parse`, so the signer and the verifier see
 * the same thing even though the verifier only gets the value back from Redis as JSON: `undefined`
 * properties are dropped, `undefined` in an array becomes `null`, a Date becomes its ISO string,
 * `NaN` and `±Infinity` become `null`. A value that JSON cannot hold (a BigInt, a cycle) throws.
 */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`canonicalJson: ${typeof value} is not a JSON value`);
  return write(JSON.parse(text) as unknown);
}

function write(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${write((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}
