import { formatDuration } from '../core/duration.js';
import type { Logger } from '../core/logger.js';
import { text, type Action, type Reply } from '../core/reply.js';
import type { NoticeSink } from '../notify/notice.js';
import { alertKeyString, type AlertKey } from './alert-key.js';
import type { Acknowledgement, AlertMarks, CurrentNotice, Silence } from './marks.js';
import type { AlertState, Transition } from './state-machine.js';

/** One transition of one alert, as its rule tells it. */
export interface Announcement {
  key: AlertKey;
  state: AlertState;
  transition: Transition;
  /** the rule's text for this transition, without buttons */
  reply: Reply;
  /** the rule's own buttons while the alert fires */
  actions?: Action[];
  now: number;
}

export type Announced = 'posted' | 'silenced' | 'acknowledged';

/** The silences the alert buttons offer. */
export const SILENCE_BUTTONS = ['1h', '8h'] as const;

const isoMinute = (t: number) => `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export const ackHolds = (ack: Acknowledgement | null, firingSince: number | null): ack is Acknowledgement => ack !== null && firingSince !== null && ack.firingSince === firingSince;

/**
 * The alert as it is posted: the rule's text, what people did to it (acknowledged by, silenced
 * until) and, while it fires, its buttons — Acknowledge (until someone has), Silence 1 h / 8 h (or
 * Unsilence), then the rule's own.
 */
export function decorate(key: AlertKey, current: CurrentNotice, marks: { ack: Acknowledgement | null; silence: Silence | null }, now = Date.now()): Reply {
  const k = alertKeyString(key);
  const ack = ackHolds(marks.ack, current.firingSince) ? marks.ack : null;
  const notes = [
    ...(ack ? [text(`Acknowledged by @${ack.by} at ${isoMinute(ack.at)}: repeats stop; the resolve is still posted.`)] : []),
    ...(marks.silence ? [text(`Silenced by @${marks.silence.by} until ${isoMinute(marks.silence.until)} (${formatDuration(marks.silence.until - now)} left): nothing about this alert is posted until then.`)] : []),
  ];
  const actions: Action[] = [];
  if (current.status === 'firing') {
    if (!ack) actions.push({ label: 'Acknowledge', command: 'ack', options: { key: k }, style: 'primary' });
    if (marks.silence) actions.push({ label: 'Unsilence', command: 'silence', options: { key: k, for: 'off' }, style: 'secondary' });
    else actions.push(...SILENCE_BUTTONS.map((d): Action => ({ label: `Silence ${d.replace('h', ' h')}`, command: 'silence', options: { key: k, for: d }, style: 'secondary' })));
    actions.push(...current.actions);
  }
  const data = current.reply.data && typeof current.reply.data === 'object' ? (current.reply.data as Record<string, unknown>) : {};
  return {
    ...current.reply,
    blocks: [...notes, ...current.reply.blocks],
    actions,
    data: {
      ...data,
      key: k,
      acknowledged: ack ? { by: ack.by, byId: ack.byId, at: ack.at } : null,
      silencedUntil: marks.silence?.until ?? null,
    },
  };
}

/**
 * Between an alert rule and the notify queue: every transition becomes the alert's current
 * notice; it is posted (one message per key, edited in place) unless a silence holds it back, or it
 * is a repeat of a firing someone acknowledged. `repost` posts the current notice again after
 * someone acknowledged or silenced it, or when a silence ended.
 */
export class AlertAnnouncer {
  constructor(
    private readonly deps: { marks: AlertMarks; sink: NoticeSink; logger: Logger },
  ) {}

  async announce(a: Announcement): Promise<Announced> {
    const current: CurrentNotice = { reply: a.reply, actions: a.actions ?? [], status: a.state.status, transition: a.transition, firingSince: a.state.firingSince, at: a.now };
    // kept while the marks are read and the notice is posted: nothing waits on it but the answer
    const kept = this.deps.marks.setCurrent(a.key, current).catch((err: unknown) => this.deps.logger.warn({ err, key: alertKeyString(a.key) }, 'could not keep the alert notice'));
    const [ack, silence] = await Promise.all([this.read(() => this.deps.marks.ack(a.key)), this.read(() => this.deps.marks.silence(a.key, a.now))]);
    let outcome: Announced = 'posted';
    if (silence) outcome = 'silenced';
    else if (a.transition === 'repeat' && ackHolds(ack, a.state.firingSince)) outcome = 'acknowledged';
    else await this.deps.sink.post('alert', decorate(a.key, current, { ack, silence }, a.now), { key: alertKeyString(a.key) });
    await kept;
    return outcome;
  }

  /** Posts the alert's current notice again, as acknowledgements and silences stand now; false when there is none. */
  async repost(key: AlertKey, now = Date.now()): Promise<boolean> {
    const { marks } = this.deps;
    const current = await marks.current(key);
    if (!current) return false;
    const [ack, silence] = await Promise.all([marks.ack(key), marks.silence(key, now)]);
    await this.deps.sink.post('alert', decorate(key, current, { ack, silence }, now), { key: alertKeyString(key) });
    return true;
  }

  /** Marks that cannot be read do not stop an alert: it is posted as if there were none. */
  private async read<T>(get: () => Promise<T | null>): Promise<T | null> {
    try {
      return await get();
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not read the acknowledgement or silence of an alert; announcing it as if it had none');
      return null;
    }
  }
}
