/**
 * Turns one decision of the chart into one `TransitionWrite` (DESIGN section 5): the next
 * snapshot and its columns, slot reservations, history rows, outbox rows, timer rows. Pure.
 */
import type { Effect } from '../core/effects.js';
import type { OutboxRow, SessionRow, TimerRow, TransitionWrite } from './ports.js';
import type { TransitionNotice } from './types.js';

/** The columns of the next session row (everything but the persisted snapshot's own data). */
export interface NextRow extends Omit<SessionRow, 'version'> {}

/** A write ready for `tx.apply`, and the notices to deliver once it is committed. */
export interface PlannedWrite {
  write: TransitionWrite;
  notices: TransitionNotice[];
}

/**
 * Builds the write for a decision. `expectedVersion` is 0 for an insert. `firedTimer` is the
 * id of the timer row whose firing caused this decision: it is deleted unless re-armed.
 */
export function planWrite(
  next: NextRow,
  expectedVersion: number,
  effects: readonly Effect[],
  firedTimer?: string,
): PlannedWrite {
  const write: TransitionWrite = {
    session: { ...next, version: expectedVersion + 1 },
    expectedVersion,
    reserve: [],
    release: [],
    history: [],
    outbox: [],
    timersSet: [],
    timersCancelled: [],
  };
  const notices: TransitionNotice[] = [];
  const timers = new Map<string, TimerRow | null>();
  if (firedTimer !== undefined) timers.set(firedTimer, null);
  for (const effect of effects) addEffect(write, notices, timers, effect, next.updatedAt);
  for (const [timerId, timer] of timers) {
    if (timer) write.timersSet.push(timer);
    else write.timersCancelled.push(timerId);
  }
  return { write, notices };
}

function addEffect(
  write: TransitionWrite,
  notices: TransitionNotice[],
  timers: Map<string, TimerRow | null>,
  effect: Effect,
  now: number,
): void {
  switch (effect.type) {
    case 'reserve':
      write.reserve.push({ agentId: effect.agentId, slots: effect.slots });
      return;
    case 'release':
      write.release.push({ agentId: effect.agentId, slots: effect.slots });
      return;
    case 'setTimer':
      // The last word on a timer id wins: a re-armed timer replaces the cancelled one.
      timers.set(effect.timerId, {
        sessionId: effect.sessionId,
        timerId: effect.timerId,
        event: effect.event,
        dueAt: effect.dueAt,
      });
      return;
    case 'cancelTimer':
      timers.set(effect.timerId, null);
      return;
    case 'notify':
      write.history.push(historyRow(effect));
      notices.push(noticeOf(effect));
      return;
    default:
      write.outbox.push(outboxRow(effect, now, write.session.version));
  }
}

function outboxRow(
  effect: Extract<Effect, { key: string }>,
  now: number,
  sessionVersion: number,
): OutboxRow {
  return {
    key: effect.key,
    sessionId: effect.sessionId,
    agentId: effect.agentId,
    effect,
    dueAt: now,
    tries: 0,
    sessionVersion,
  };
}

function historyRow(effect: Extract<Effect, { type: 'notify' }>) {
  const row = {
    sessionId: effect.sessionId,
    at: effect.at,
    from: effect.from,
    to: effect.to,
    substate: effect.substate,
  };
  return effect.reason === undefined ? row : { ...row, reason: effect.reason };
}

function noticeOf(effect: Extract<Effect, { type: 'notify' }>): TransitionNotice {
  const notice: TransitionNotice = {
    sessionId: effect.sessionId,
    from: effect.from,
    to: effect.to,
    substate: effect.substate,
    at: effect.at,
  };
  if (effect.reason !== undefined) notice.reason = effect.reason;
  return notice;
}
