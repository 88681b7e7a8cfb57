import type { Reply } from '../core/reply.js';
import type { Signature } from '../core/signing-keys.js';

export type NoticeChannel = 'alert' | 'log';

export interface Notice {
  channel: NoticeChannel;
  /** alerts: the alert key; a later notice with the same key edits the same message */
  key?: string;
  reply: Reply;
  at: number;
  /** by the process that raised it, under the lab's job key; absent in a lab that runs unsigned */
  sig?: Signature;
}

/** Thrown by a notice handler to have the notice retried after `ms` (Discord's 429, a 5xx). */
export class RetryLater extends Error {
  constructor(
    readonly ms: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where notices go: the durable queue (Notifier) in the processes, a list in a device check. */
export interface NoticeSink {
  post(channel: NoticeChannel, reply: Reply, opts?: { key?: string }): Promise<void>;
}
