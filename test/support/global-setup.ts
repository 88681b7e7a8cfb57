import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Builds dist/ once: tests start the real `labops` CLI as child processes. Type errors do not stop
 * the emit and are reported by `npm run typecheck`, which `npm test` runs first.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const result = spawnSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) console.warn(`tsc reported problems while building dist/ for the tests:\n${result.stdout}${result.stderr}`);
}
