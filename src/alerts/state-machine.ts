/**
 * One alert's life, as a pure function of the previous state, what the rule sees now and the
 * time: `pending` while the condition holds for less than `forMs`, then `firing` (repeated every
 * `repeatEveryMs` while it stays), then `resolved` once the value is back past the resolve level.
 * Between the resolve level and the threshold ("hold") a firing alert stays firing: hysteresis.
 */
export type AlertStatus = 'inactive' | 'pending' | 'firing' | 'resolved';

/** breach: at or over the threshold; hold: between the resolve level and the threshold; clear: under the resolve level */
export type Level = 'breach' | 'hold' | 'clear';

/** What is announced: pending (warn), firing and repeat (error), resolved and cancelled (ok). */
export type Transition = 'pending' | 'cancelled' | 'firing' | 'repeat' | 'resolved';

export interface AlertState {
  status: AlertStatus;
  /** when the condition started to hold */
  pendingSince: number | null;
  firingSince: number | null;
  resolvedAt: number | null;
  /** the last firing or repeat announcement */
  lastNotifiedAt: number | null;
}

export interface AlertTiming {
  forMs: number;
  repeatEveryMs: number;
}

export const INACTIVE: AlertState = { status: 'inactive', pendingSince: null, firingSince: null, resolvedAt: null, lastNotifiedAt: null };

export interface Step {
  state: AlertState;
  transition: Transition | null;
}

export function advance(state: AlertState, level: Level, now: number, timing: AlertTiming): Step {
  switch (state.status) {
    case 'inactive':
    case 'resolved':
      if (level !== 'breach') return { state, transition: null };
      if (timing.forMs <= 0) return fire(now, now);
      return { state: { ...INACTIVE, status: 'pending', pendingSince: now }, transition: 'pending' };
    case 'pending': {
      if (level !== 'breach') return { state: INACTIVE, transition: 'cancelled' };
      const since = state.pendingSince ?? now;
      return now - since >= timing.forMs ? fire(since, now) : { state, transition: null };
    }
    case 'firing':
      if (level === 'clear') return { state: { ...state, status: 'resolved', resolvedAt: now }, transition: 'resolved' };
      if (timing.repeatEveryMs > 0 && now - (state.lastNotifiedAt ?? now) >= timing.repeatEveryMs) {
        return { state: { ...state, lastNotifiedAt: now }, transition: 'repeat' };
      }
      return { state, transition: null };
  }
}

function fire(pendingSince: number, now: number): Step {
  return { state: { status: 'firing', pendingSince, firingSince: now, resolvedAt: null, lastNotifiedAt: now }, transition: 'firing' };
}

/** The level of a value for a rule that fires at `high` and resolves under `resolve` (at most `high`). */
export function levelOf(value: number, high: number, resolve: number): Level {
  if (value >= high) return 'breach';
  return value < Math.min(resolve, high) ? 'clear' : 'hold';
}
