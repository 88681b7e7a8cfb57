import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type { TestCa } from './test-ca.js';

export interface OwnRedis {
  port: number;
  /** null when this machine's redis-server cannot speak TLS: `tlsSkipped` says why */
  tlsPort: number | null;
  tlsSkipped: string | null;
  password: string;
  /** what redis-server wrote (its log goes to stdout) */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of the test's own, with `--requirepass`, and a TLS port (client certificates
 * required) when the build supports TLS. Without TLS support it runs plain and says why.
 */
export async function startOwnRedis(password: string, ca: TestCa | null): Promise<OwnRedis> {
  const port = await freePort();
  const base = ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', '', '--appendonly', 'no', '--logfile', ''];
  if (ca) {
    const tlsPort = await freePort();
    const tls = ['--tls-port', String(tlsPort), '--tls-cert-file', ca.serverCert, '--tls-key-file', ca.serverKey, '--tls-ca-cert-file', ca.ca, '--tls-auth-clients', 'yes'];
    const started = await tryStart([...base, ...tls], port, password);
    if (started.ok) return own(started.child, port, tlsPort, null, password, started.log);
    const reason = `this machine's redis-server did not start with TLS (${started.log.trim().split('\n').slice(-2).join(' ') || 'no output'})`;
    const plain = await tryStart(base, port, password);
    if (!plain.ok) throw new Error(`redis-server did not start: ${plain.log}`);
    return own(plain.child, port, null, reason, password, plain.log);
  }
  const plain = await tryStart(base, port, password);
  if (!plain.ok) throw new Error(`redis-server did not start: ${plain.log}`);
  return own(plain.child, port, null, 'no CA was made', password, plain.log);
}

function own(child: ChildProcess, port: number, tlsPort: number | null, tlsSkipped: string | null, password: string, log: { text: string }): OwnRedis {
  return {
    port,
    tlsPort,
    tlsSkipped,
    password,
    output: () => log.text,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

type Started = { ok: true; child: ChildProcess; log: { text: string } } | { ok: false; log: string };

async function tryStart(args: string[], port: number, password: string): Promise<Started> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = { text: '' };
  child.stdout!.on('data', (d: Buffer) => (log.text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log.text += d.toString()));
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return { ok: false, log: log.text };
    const probe = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return { ok: true, child, log };
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  return { ok: false, log: `${log.text}\n(not answering after 5 s)` };
}
