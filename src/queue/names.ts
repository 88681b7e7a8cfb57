/** One queue per host; the host name is part of the queue name (BullMQ forbids ":" in it). */
export const hostQueueName = (host: string) => `host.${host}`;

/** Alerts and log posts for the chat side: one durable queue for the whole lab. */
export const NOTIFY_QUEUE = 'notify';
