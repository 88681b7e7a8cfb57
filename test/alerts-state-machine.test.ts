import { describe, expect, it } from 'vitest';
import { advance, INACTIVE, levelOf, type AlertState, type Level, type Transition } from '../src/alerts/state-machine.js';

const timing = { forMs: 60_000, repeatEveryMs: 3_600_000 };

/** Feeds (time, level) pairs and returns the transitions with their times, and the final state. */
function play(steps: [number, Level][], from: AlertState = INACTIVE, t = timing) {
  let state = from;
  const seen: [number, Transition][] = [];
  for (const [at, level] of steps) {
    const step = advance(state, level, at, t);
    state = step.state;
    if (step.transition) seen.push([at, step.transition]);
  }
  return { state, seen };
}

describe('alert state machine', () => {
  it('stays quiet while nothing breaches', () => {
    expect(play([[0, 'clear'], [1_000, 'hold'], [2_000, 'clear']])).toEqual({ state: INACTIVE, seen: [] });
  });

  it('is pending at the first breach and fires once it has lasted `for`', () => {
    const { state, seen } = play([[0, 'breach'], [30_000, 'breach'], [59_999, 'breach'], [60_000, 'breach'], [61_000, 'breach']]);
    expect(seen).toEqual([[0, 'pending'], [60_000, 'firing']]);
    expect(state).toEqual({ status: 'firing', pendingSince: 0, firingSince: 60_000, resolvedAt: null, lastNotifiedAt: 60_000 });
  });

  it('cancels a pending alert that drops under the threshold before `for`', () => {
    const { state, seen } = play([[0, 'breach'], [10_000, 'hold'], [20_000, 'breach'], [79_000, 'breach'], [80_000, 'breach']]);
    expect(seen).toEqual([[0, 'pending'], [10_000, 'cancelled'], [20_000, 'pending'], [80_000, 'firing']]);
    expect(state.status).toBe('firing');
  });

  it('keeps firing between the resolve level and the threshold (hysteresis), and resolves under it', () => {
    const firing = play([[0, 'breach'], [60_000, 'breach']]).state;
    const { state, seen } = play([[61_000, 'hold'], [62_000, 'breach'], [63_000, 'hold'], [64_000, 'clear'], [65_000, 'clear']], firing);
    expect(seen).toEqual([[64_000, 'resolved']]);
    expect(state).toMatchObject({ status: 'resolved', firingSince: 60_000, resolvedAt: 64_000 });
  });

  it('repeats every `repeatEvery` while it stays firing', () => {
    const t = { forMs: 1_000, repeatEveryMs: 10_000 };
    const { seen } = play([[0, 'breach'], [1_000, 'breach'], [10_999, 'hold'], [11_000, 'hold'], [20_000, 'breach'], [21_000, 'breach'], [22_000, 'clear']], INACTIVE, t);
    expect(seen).toEqual([[0, 'pending'], [1_000, 'firing'], [11_000, 'repeat'], [21_000, 'repeat'], [22_000, 'resolved']]);
  });

  it('never repeats with repeatEvery 0, and fires at once with for 0', () => {
    const { seen } = play([[0, 'breach'], [99_000_000, 'breach']], INACTIVE, { forMs: 0, repeatEveryMs: 0 });
    expect(seen).toEqual([[0, 'firing']]);
  });

  it('goes pending again after it resolved', () => {
    const resolved = play([[0, 'breach'], [60_000, 'breach'], [70_000, 'clear']]).state;
    const { seen, state } = play([[80_000, 'breach']], resolved);
    expect(seen).toEqual([[80_000, 'pending']]);
    expect(state).toEqual({ ...INACTIVE, status: 'pending', pendingSince: 80_000 });
  });

  it('computes the level with hysteresis', () => {
    expect(levelOf(95, 95, 90)).toBe('breach');
    expect(levelOf(94.9, 95, 90)).toBe('hold');
    expect(levelOf(90, 95, 90)).toBe('hold');
    expect(levelOf(89.9, 95, 90)).toBe('clear');
    // a resolve level above the threshold is taken as the threshold
    expect(levelOf(94, 95, 99)).toBe('clear');
  });
});
