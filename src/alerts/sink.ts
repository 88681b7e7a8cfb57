import type { Reply } from '../core/reply.js';

/** Where alert notices go: the durable Notifier in a worker (its `post` fits), a list in a device check. */
export interface AlertSink {
  post(channel: 'alert', reply: Reply, opts: { key: string }): Promise<void>;
}
