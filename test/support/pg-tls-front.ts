import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const SSL_REQUEST = 80877103;

/**
 * A PostgreSQL that speaks only TLS, in front of the real one: it answers the client's
 * SSLRequest with "S" and does the TLS handshake with the given certificate (as a server with
 * `ssl = on` and only `hostssl` lines in pg_hba.conf does), then relays the decrypted protocol to
 * the real server. A client that starts without TLS gets PostgreSQL's own refusal (28000).
 */
export class PgTlsFront {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly cert: { cert: string; key: string },
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<number> {
    const context = tls.createSecureContext({ cert: readFileSync(this.cert.cert), key: readFileSync(this.cert.key) });
    this.server = net.createServer((client) => {
      this.track(client);
      client.once('data', (first: Buffer) => {
        if (first.length < 8 || first.readInt32BE(4) !== SSL_REQUEST) {
          client.end(errorResponse('28000', 'no pg_hba.conf entry for host "127.0.0.1", no encryption'));
          return;
        }
        client.write('S');
        const secure = new tls.TLSSocket(client, { isServer: true, secureContext: context });
        secure.on('error', () => client.destroy());
        secure.once('secure', () => {
          const upstream = net.connect(this.target.port, this.target.host);
          this.track(upstream);
          secure.pipe(upstream).pipe(secure);
          secure.on('close', () => upstream.destroy());
          upstream.on('close', () => secure.destroy());
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A FATAL ErrorResponse message of the PostgreSQL protocol. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat([Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0`), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}
