// Plays systemd's part for one unit: runs ExecStart in its own process group, captures its output
// into the journal, and records MainPID and, on exit, the result. Started detached by `systemctl start`.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { constants } from 'node:os';
import { journal, loadUnit, writeState } from './lib.mjs';

const [dir, unitName] = process.argv.slice(2);
const unit = loadUnit(unitName);
const manager = (m) => journal(dir, unitName, { id: 'systemd', pid: process.pid, m });
const stopping = join(dir, `${unitName}.stopping`);
const CLEAN_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE'];

manager(`Starting ${unit.description}...`);
const child = spawn(unit.argv[0], unit.argv.slice(1), {
  cwd: unit.cwd,
  env: { ...process.env, ...unit.env },
  detached: true,
  stdio: ['ignore', 'pipe', 'pipe'],
});
const ident = basename(unit.argv[0] ?? unitName);

child.once('spawn', () => {
  writeState(dir, unitName, { ActiveState: 'active', SubState: 'running', MainPID: child.pid, ExecMainStatus: 0, supervisor: process.pid });
  manager(`Started ${unit.description}.`);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (m) => journal(dir, unitName, { id: ident, pid: child.pid, m }));
  }
});

child.once('error', (err) => {
  manager(`${unitName}: Failed to execute ${unit.argv[0]}: ${err.message}`);
  manager(`${unitName}: Main process exited, code=exited, status=203/EXEC`);
  writeState(dir, unitName, { ActiveState: 'failed', SubState: 'failed', MainPID: 0, ExecMainStatus: 203, supervisor: 0 });
  process.exit(0);
});

child.once('exit', (code, signal) => {
  // let the last output lines reach the journal before the end is recorded
  const done = () => finish(code, signal);
  child.once('close', done);
  setTimeout(done, 300).unref();
});

let finished = false;
function finish(code, signal) {
  if (finished) return;
  finished = true;
  const requested = existsSync(stopping);
  rmSync(stopping, { force: true });
  const status = signal ? constants.signals[signal] : code;
  const clean = code === 0 || CLEAN_SIGNALS.includes(signal);
  if (clean) {
    manager(`${unitName}: Deactivated successfully.`);
    if (requested) manager(`Stopped ${unit.description}.`);
    writeState(dir, unitName, { ActiveState: 'inactive', SubState: 'dead', MainPID: 0, ExecMainStatus: status, supervisor: 0 });
  } else {
    const how = signal ? `code=killed, status=${status}/${signal.replace('SIG', '')}` : `code=exited, status=${status}/FAILURE`;
    manager(`${unitName}: Main process exited, ${how}`);
    manager(`${unitName}: Failed with result '${signal ? 'signal' : 'exit-code'}'.`);
    writeState(dir, unitName, { ActiveState: 'failed', SubState: 'failed', MainPID: 0, ExecMainStatus: status, supervisor: 0 });
  }
  process.exit(0);
}
