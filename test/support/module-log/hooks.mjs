// A module resolve hook that appends each resolved URL to $LABOPS_MODULE_LOG (one per line).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.LABOPS_MODULE_LOG) appendFileSync(process.env.LABOPS_MODULE_LOG, `${resolved.url}\n`);
  return resolved;
}
