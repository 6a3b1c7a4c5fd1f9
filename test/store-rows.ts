/** Rows with sensible defaults, for the store contract and the store tests. */
import type { Status } from '../src/core/types.js';
import type {
  HistoryRow,
  OutboxRow,
  SessionRow,
  TimerRow,
  TransitionWrite,
} from '../src/manager/ports.js';

/** A session row with sensible defaults; `version` 1 (a fresh insert). */
export function sessionRow(id: string, patch: Partial<SessionRow> = {}): SessionRow {
  return {
    id,
    owner: 'alice',
    priority: 0,
    status: 'PENDING',
    substate: '',
    version: 1,
    submittedAt: 1000,
    updatedAt: 1000,
    holds: {},
    snapshot: { value: 'PENDING', context: { n: 1 } },
    ...patch,
  };
}

/** A write of `session` with nothing else in it. */
export function transitionWrite(
  session: SessionRow,
  patch: Partial<TransitionWrite> = {},
): TransitionWrite {
  return {
    session,
    expectedVersion: session.version - 1,
    reserve: [],
    release: [],
    history: [],
    outbox: [],
    timersSet: [],
    timersCancelled: [],
    ...patch,
  };
}

export function outboxRow(key: string, dueAt: number, sessionId = 's1', agentId = 'a1'): OutboxRow {
  return {
    key,
    sessionId,
    agentId,
    dueAt,
    tries: 0,
    effect: {
      type: 'pullImages',
      sessionId,
      agentId,
      image: 'python:3.12',
      kernelIds: ['k0'],
      attempt: 1,
      key,
    },
  };
}

export function timerRow(sessionId: string, timerId: string, dueAt: number): TimerRow {
  return { sessionId, timerId, event: `xstate.after.${timerId}`, dueAt };
}

export function historyRow(sessionId: string, at: number, from: Status, to: Status): HistoryRow {
  return { sessionId, at, from, to, substate: '' };
}

/** Defines the full contract suite for one store implementation. */
