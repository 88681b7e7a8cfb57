import type { AlertSettings } from '../../config/schema.js';
import type { ModelState } from '../../contracts/lab-data.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { runEvery, type Loop } from '../../core/loop.js';
import type { NoticeSink } from '../../notify/notice.js';
import type { AlertKey } from '../../alerts/alert-key.js';
import { AlertAnnouncer } from '../../alerts/announcer.js';
import { MemoryAlertMarks, type AlertMarks } from '../../alerts/marks.js';
import type { Level } from '../../alerts/state-machine.js';
import type { AlertStore } from '../../alerts/store.js';
import { AlertTracker, type TrackedEvent } from '../../alerts/tracker.js';
import type { StopIntent } from '../../state/stop-intent.js';
import type { AlertInputs, ModelTransition } from './inputs.js';
import { modelDownReply, type ModelDownFacts } from './model-down-reply.js';

export const MODEL_DOWN = 'model-down';

export interface ModelDownOptions {
  host: string;
  settings: AlertSettings['modelDown'];
  inputs: Pick<AlertInputs, 'onModelTransition'>;
  sink: NoticeSink;
  store: AlertStore;
  marks?: AlertMarks;
  logger: Logger;
  /** the model's last log lines (its engine's `logs(n)`) */
  logs(model: string, lines: number): Promise<string[]>;
  /** the stop labops recorded for the model, if any (`src/state/stop-intent.ts`) */
  stopIntent(model: string): Promise<StopIntent | null>;
  /** how often `for` and repeats are checked without new events (default 1 s) */
  tickMs?: number;
}

const isDown = (s: ModelState) => s === 'stopped' || s === 'failed';
const isUp = (s: ModelState) => s === 'running' || s === 'starting';

/**
 * "Model down": a model that was running (or is pinned) stopped, and labops did not stop it (no
 * /stop, no idle unload). Fires after `for` unless it runs again meanwhile (a restart that is only
 * `starting` does not count); resolves when it runs again (or when labops stops it on purpose). The
 * firing notice carries its last log lines.
 */
export class ModelDownAlerts {
  private readonly logger: Logger;
  private readonly tracker: AlertTracker<ModelDownFacts>;
  /** when each model was last seen coming up: a stop intent older than that is stale */
  private readonly upSince = new Map<string, number>();
  private unsubscribe: (() => void) | null = null;
  private loop: Loop | null = null;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ModelDownOptions) {
    this.logger = opts.logger.child({ host: opts.host, component: 'model-down-alerts' });
    this.tracker = new AlertTracker<ModelDownFacts>({
      store: opts.store,
      announcer: new AlertAnnouncer({ marks: opts.marks ?? new MemoryAlertMarks(), sink: opts.sink, logger: this.logger }),
      logger: this.logger,
      timing: { forMs: opts.settings.for, repeatEveryMs: opts.settings.repeatEvery },
      announcePending: false,
      render: (m) => {
        const reply = modelDownReply({ ...m, host: opts.host, forMs: opts.settings.for });
        const start = { label: `Start ${m.facts.model}`, command: 'start', options: { model: m.facts.model, host: opts.host }, style: 'primary' as const };
        return { reply, actions: [start], context: { model: m.facts.model, state: m.facts.to, was: m.facts.from, pinned: String(m.facts.pinned) } };
      },
    });
  }

  start(): void {
    if (!this.opts.settings.enabled || this.unsubscribe) return;
    this.unsubscribe = this.opts.inputs.onModelTransition((t) => {
      // one transition at a time, in order
      this.pending = this.pending.then(() => this.handle(t)).catch((err: unknown) => this.logger.error({ err, model: t.model }, 'model-down evaluation failed'));
    });
    this.loop = runEvery(this.opts.tickMs ?? 1_000, async () => void (await this.tracker.tick(Date.now())), { onError: (err) => this.logger.warn({ err }, 'model-down tick failed') });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.loop?.stop();
    this.loop = null;
    await this.pending;
    await this.tracker.idle();
  }

  /** Evaluates one transition; returns what it announced. */
  async handle(t: ModelTransition): Promise<TrackedEvent | null> {
    if (t.host !== this.opts.host) return null;
    const key: AlertKey = { host: t.host, subject: t.model, kind: MODEL_DOWN };
    if (isUp(t.to) && !isUp(t.from)) this.upSince.set(t.model, t.at);
    const level = await this.levelFor(key, t);
    if (level === null) return null;
    const before = this.tracker.factsOf(key);
    const facts: ModelDownFacts = {
      model: t.model,
      // what it was before it went down, for the whole time it stays down
      from: level !== 'clear' && before && this.tracker.levelOf(key) !== 'clear' ? before.from : t.from,
      to: t.to,
      cause: t.cause,
      pinned: t.pinned,
      at: t.at,
      ...(t.detail ? { detail: t.detail } : {}),
      logLines: level === 'breach' ? await this.logLines(t.model) : (before?.logLines ?? []),
    };
    return await this.tracker.observe(key, level, facts, t.at);
  }

  /** Waits for the transitions received so far (tests). */
  async settled(): Promise<void> {
    await this.pending;
    await this.tracker.idle();
  }

  /** null: the transition says nothing about this alert. */
  private async levelFor(key: AlertKey, t: ModelTransition): Promise<Level | null> {
    const tracked = this.tracker.levelOf(key);
    const active = tracked !== undefined && tracked !== 'clear';
    if (t.to === 'running') return 'clear';
    // a restart is not a recovery until it runs; a state that cannot be read neither fires nor resolves
    if (t.to === 'starting') return active ? 'breach' : null;
    if (t.to === 'unknown') return active ? 'hold' : null;
    if (!isDown(t.to)) return null;
    if (t.cause === 'labops-stop' || t.cause === 'idle-unload' || (await this.stoppedByLabops(t))) return 'clear';
    return t.from === 'running' || t.pinned || active ? 'breach' : null;
  }

  /** The events may not know (a live state that missed the intent): the stop intent itself is the proof. */
  private async stoppedByLabops(t: ModelTransition): Promise<boolean> {
    try {
      const intent = await this.opts.stopIntent(t.model);
      return intent !== null && intent.at >= (this.upSince.get(t.model) ?? 0);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), model: t.model }, 'could not read the stop intent; taking the stop as unexpected');
      return false;
    }
  }

  private async logLines(model: string): Promise<string[]> {
    const n = this.opts.settings.logLines;
    if (n <= 0) return [];
    try {
      return (await this.opts.logs(model, n)).slice(-n);
    } catch (err) {
      return [`(could not read its log: ${errorMessage(err)})`];
    }
  }
}
