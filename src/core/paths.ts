import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The labops checkout or install: the nearest folder above this file whose package.json is labops'. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'labops') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the labops package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export const ROOT = findRoot();
export const PACKAGE_JSON = join(ROOT, 'package.json');
export const EXAMPLE_CONFIG = join(ROOT, 'examples', 'labops.yaml');
