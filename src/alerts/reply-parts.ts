import type { Tone } from '../core/reply.js';
import type { AlertState, AlertStatus, Transition } from './state-machine.js';

/** Pieces every alert's text shares. */

/** pending (warn), firing and repeat (error), resolved and cancelled (ok) */
export const TRANSITION_TONE: Record<Transition, Tone> = { pending: 'warn', firing: 'error', repeat: 'error', resolved: 'ok', cancelled: 'ok' };

/** 78100 → "78,100" */
export const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/** The state a notice shows: a pending alert that did not last reads "ok". */
export const shownStatus = (transition: Transition, state: AlertState): AlertStatus | 'ok' => (transition === 'cancelled' ? 'ok' : state.status);

/** Whether the transition is one the alert fires with (its buttons and hints are shown then). */
export const isFiring = (t: Transition) => t === 'firing' || t === 'repeat';
