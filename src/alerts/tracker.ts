import type { Logger } from '../core/logger.js';
import type { Action, Reply } from '../core/reply.js';
import { alertKeyString, type AlertKey } from './alert-key.js';
import type { AlertAnnouncer } from './announcer.js';
import { advance, INACTIVE, type AlertState, type AlertTiming, type Level, type Transition } from './state-machine.js';
import type { AlertContext, AlertStore } from './store.js';

/** What a rule's renderer gets for one transition. */
export interface Moment<F> {
  key: AlertKey;
  keyString: string;
  facts: F;
  state: AlertState;
  transition: Transition;
  now: number;
}

export interface Rendered {
  reply: Reply;
  actions?: Action[];
  /** kept beside the state in the store (what /alerts and /status may show) */
  context?: AlertContext;
}

export interface TrackerOptions<F> {
  store: AlertStore;
  announcer: AlertAnnouncer;
  logger: Logger;
  timing: AlertTiming;
  /** false: pending and cancelled are saved but not posted (only firing, repeats and the resolve are); default true */
  announcePending?: boolean;
  render(moment: Moment<F>): Rendered | Promise<Rendered>;
}

export interface TrackedEvent {
  key: string;
  transition: Transition;
  at: number;
}

interface Tracked<F> {
  key: AlertKey;
  level: Level;
  facts: F;
}

/**
 * The machinery every alert rule shares: per key, the level the rule last saw and its facts; the
 * state machine advanced on each observation and on each tick (so `for` and `repeatEvery` elapse
 * without new input); each transition announced, then saved. Steps run one at a time, in order.
 */
export class AlertTracker<F> {
  private readonly states = new Map<string, AlertState>();
  private readonly tracked = new Map<string, Tracked<F>>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: TrackerOptions<F>) {}

  /** Records what the rule sees now for this key and advances its alert. */
  observe(key: AlertKey, level: Level, facts: F, now: number): Promise<TrackedEvent | null> {
    return this.serial(async () => {
      this.tracked.set(alertKeyString(key), { key, level, facts });
      return await this.step(key, now);
    });
  }

  /** Advances every tracked alert with the level last seen (pending → firing after `for`, repeats). */
  tick(now: number): Promise<TrackedEvent[]> {
    return this.serial(async () => {
      const events: TrackedEvent[] = [];
      for (const t of [...this.tracked.values()]) {
        const e = await this.step(t.key, now);
        if (e) events.push(e);
      }
      return events;
    });
  }

  /** The level last observed for a key (undefined: none). */
  levelOf(key: AlertKey): Level | undefined {
    return this.tracked.get(alertKeyString(key))?.level;
  }

  /** Facts last observed for a key. */
  factsOf(key: AlertKey): F | undefined {
    return this.tracked.get(alertKeyString(key))?.facts;
  }

  /** Forgets the states known in memory: they are read from the store again (another process may have moved them). */
  forget(): void {
    this.states.clear();
  }

  /** Waits for the steps queued so far. */
  async idle(): Promise<void> {
    await this.chain.catch(() => undefined);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async step(key: AlertKey, now: number): Promise<TrackedEvent | null> {
    const k = alertKeyString(key);
    const t = this.tracked.get(k);
    if (!t) return null;
    const { state, transition } = advance(await this.stateOf(key), t.level, now, this.opts.timing);
    this.states.set(k, state);
    // nothing more to watch: an alert that is over and a condition that is clear
    if (t.level === 'clear' && (state.status === 'inactive' || state.status === 'resolved')) this.tracked.delete(k);
    if (!transition) return null;
    const rendered = await this.opts.render({ key, keyString: k, facts: t.facts, state, transition, now });
    const quiet = this.opts.announcePending === false && (transition === 'pending' || transition === 'cancelled');
    this.opts.logger.info({ key: k, transition }, quiet ? 'alert (not posted)' : 'alert');
    // announced before it is saved: a crash in between announces twice rather than never
    if (!quiet) await this.opts.announcer.announce({ key, state, transition, reply: rendered.reply, ...(rendered.actions ? { actions: rendered.actions } : {}), now });
    await this.opts.store.save(key, state, rendered.context ?? {}).catch((err: unknown) => this.opts.logger.warn({ err, key: k }, 'could not save the alert state'));
    return { key: k, transition, at: now };
  }

  private async stateOf(key: AlertKey): Promise<AlertState> {
    const k = alertKeyString(key);
    const known = this.states.get(k);
    if (known) return known;
    try {
      return (await this.opts.store.load(key)) ?? INACTIVE;
    } catch (err) {
      this.opts.logger.warn({ err, key: k }, 'could not load the alert state; starting from inactive');
      return INACTIVE;
    }
  }
}
