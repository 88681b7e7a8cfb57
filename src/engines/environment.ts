import type { Env } from './command.js';

const KEEP = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'DBUS_SESSION_BUS_ADDRESS', 'LD_LIBRARY_PATH']);
const KEEP_PREFIXES = ['LC_', 'XDG_', 'CUDA_', 'NVIDIA_', 'DOCKER_'];

/**
 * The environment of what engines run (model servers, start and stop scripts, systemctl,
 * journalctl, docker): only what such a program needs to find its tools, the user's session
 * (`systemctl --user` needs XDG_RUNTIME_DIR) and the GPU — never labops' own secrets (the master and
 * salt keys, the Redis and database URLs, the Discord token). A model's own `env` is added on top.
 */
export function engineEnv(from: Env = process.env): Env {
  return Object.fromEntries(Object.entries(from).filter(([name]) => KEEP.has(name) || KEEP_PREFIXES.some((p) => name.startsWith(p))));
}
