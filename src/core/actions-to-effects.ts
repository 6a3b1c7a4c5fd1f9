/**
 * Turns the action objects a chart transition executed into effects: named effect actions
 * carry their effects in params; a delayed `xstate.raise` becomes `setTimer`; `xstate.cancel`
 * becomes `cancelTimer`. Everything else (assign, immediate raises) has no effect outside.
 */
import { EFFECT_ACTIONS } from '../../machines/session.setup.js';
import type { Effect } from './effects.js';

/** The parts of an executed action object this module reads. */
export interface ExecutedAction {
  type: string;
  params?: unknown;
}

const EFFECT_NAMES = new Set<string>(EFFECT_ACTIONS);

interface RaiseParams {
  event: { type: string };
  id?: string;
  delay?: number;
}

/** Appends the effects of `action` to `out`; `now` is the time of the event being decided. */
export function appendEffects(
  out: Effect[],
  action: ExecutedAction,
  sessionId: string,
  now: number,
): void {
  if (EFFECT_NAMES.has(action.type)) {
    for (const effect of (action.params as { effects: Effect[] }).effects) out.push(effect);
    return;
  }
  if (action.type === 'xstate.raise') {
    const { event, id, delay } = action.params as RaiseParams;
    if (typeof delay !== 'number') return;
    const timerId = id ?? event.type;
    out.push({ type: 'setTimer', sessionId, timerId, event: event.type, dueAt: now + delay });
    return;
  }
  if (action.type === 'xstate.cancel') {
    const { sendId } = action.params as { sendId: string };
    out.push({ type: 'cancelTimer', sessionId, timerId: sendId });
  }
}
