import { key } from '../redis/connection.js';

/**
 * Names shared by the bot and the worker for one model of one host. Host and model names come
 * from the inventory (a plain alphabet without ":"), so they are safe in keys and ids.
 */

/** The Redis lock that serialises every start and stop of one model. */
export const modelLockKey = (prefix: string, host: string, model: string) => key(prefix, 'lock', 'model', host, model);

/** BullMQ deduplication ids: one waiting or running start (and one stop) per host+model. */
export const startDedupId = (host: string, model: string) => `model.start.${host}.${model}`;
export const stopDedupId = (host: string, model: string) => `model.stop.${host}.${model}`;

/** When labops last started the model, or first saw it running (ms since the epoch). */
export const startedAtKey = (prefix: string, host: string, model: string) => key(prefix, 'model', host, model, 'started-at');
/** The job that started it (a re-run of that job after a worker crash finds its own start). */
export const startedByKey = (prefix: string, host: string, model: string) => key(prefix, 'model', host, model, 'started-by');

/** Who the worker names as the requester of the stops it queues itself. */
export const IDLE_UNLOAD_REQUESTER = {
  id: 'labops',
  name: 'labops (idle unload)',
  role: null,
  adapter: 'worker',
  channel: 'idle-unload',
} as const;

/** The idle-unload loop's passes on a host: `{ passes, startedAt, finishedAt }` of the last one. */
export const idlePassKey = (prefix: string, host: string) => key(prefix, 'idle-unload', host);

/** "labops is stopping this model" (a /stop or an idle unload), so that the stop is not reported as the model going down. */
export const stopIntentKey = (prefix: string, host: string, model: string) => key(prefix, 'model', host, model, 'stopping');
