import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ListenAddress } from '../config/schema.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` from one registry (Prometheus' text format). A port that is taken is logged
 * and the process goes on without metrics: monitoring must not stop a worker or the bot.
 */
export async function serveMetrics(registry: Registry, address: ListenAddress, logger: Logger, what: string): Promise<MetricsServer | null> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => {
        logger.warn({ err: errorMessage(err) }, 'could not collect the metrics');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect the metrics\n');
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    logger.warn({ err: errorMessage(err), address: `${address.host}:${address.port}` }, `the ${what}'s /metrics cannot listen there; it runs without metrics (set metrics.${what} in labops.yaml)`);
    return null;
  }
  const port = (server.address() as AddressInfo).port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `http://${host}:${port}/metrics`;
  logger.info({ url }, `${what} metrics served`);
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
