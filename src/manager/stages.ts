/**
 * The stages of one round that do not place: due timers, and the prepare and start stages that
 * move sessions SCHEDULED -> PREPARING and PREPARED -> CREATING.
 */
import type { SessionEvent } from '../core/events.js';
import type { Status } from '../core/types.js';
import type { TimerRow } from './ports.js';
import { inTurns, type Round, type Runtime } from './runtime.js';
import { type SendItem, sendMany } from './send-many.js';
import { processingFailed, stepMany } from './step.js';

/** Batches one stage may run in one round: a bound, so a timer re-armed at once cannot spin. */
export const MAX_BATCHES_PER_STAGE = 64;

/**
 * Fires every due timer: sends its event to the session and deletes the row. A batch of timers
 * is written at once, so the agents its transitions reserve on or release from are locked
 * together, in id order: two managers firing timers at once wait for each other, never deadlock.
 */
export async function fireTimers(runtime: Runtime, round: Round): Promise<void> {
  let progress = true;
  for (let batch = 0; progress && batch < MAX_BATCHES_PER_STAGE; batch += 1) {
    progress = await round.inTransaction(runtime, async (tx) => {
      const due = await tx.dueTimers(round.now, runtime.batchSize);
      const items: SendItem[] = due.map((timer) => ({
        sessionId: timer.sessionId,
        events: () => [timerEvent(timer, round.now)],
        firedTimer: timer.timerId,
      }));
      const outcomes = await sendMany(runtime, round, tx, items);
      let fired = 0;
      for (const [index, outcome] of outcomes.entries()) {
        if (outcome.kind === 'applied' || outcome.kind === 'ignored') fired += 1;
        if (outcome.kind === 'error') {
          processingFailed(runtime, round, items[index]!.sessionId, outcome.error);
        }
      }
      round.timersFired += fired;
      // Another batch only if this one was full and moved: failing timers stay for next round.
      return due.length === runtime.batchSize && fired > 0;
    });
  }
}

function timerEvent(timer: TimerRow, now: number): SessionEvent {
  return { type: timer.event as `xstate.after.${string}`, now };
}

/** SCHEDULED -> PREPARING: the prepare stage asks the agents for the images. */
export function prepareStage(runtime: Runtime, round: Round): Promise<void> {
  return advance(runtime, round, 'SCHEDULED', (now) => ({ type: 'PREPARE', now }));
}

/** PREPARED -> CREATING: the start stage asks the agents to create the kernels. */
export function startStage(runtime: Runtime, round: Round): Promise<void> {
  return advance(runtime, round, 'PREPARED', (now) => ({ type: 'START', now }));
}

/**
 * Sends `event` to every session in `status`, a batch per transaction, until a batch comes
 * back short or moves nothing (the sessions left are conflicted or failing: next round).
 * Batches overlap (`inTurns`); claims skip the sessions a batch in flight holds. The second
 * batch starts only once the first has claimed a full batch: with fewer sessions waiting, its
 * transaction would find none.
 */
async function advance(
  runtime: Runtime,
  round: Round,
  status: Status,
  event: (now: number) => SessionEvent,
): Promise<void> {
  let claimedFirst: (full: boolean) => void = () => {};
  const firstFull = new Promise<boolean>((resolve) => {
    claimedFirst = resolve;
  });
  await inTurns(runtime, round, MAX_BATCHES_PER_STAGE, async (forked, index) => {
    if (index === 1 && !(await firstFull)) return false;
    try {
      return await forked.inTransaction(runtime, async (tx) => {
        const rows = await tx.claimSessions([status], runtime.batchSize);
        if (index === 0) claimedFirst(rows.length === runtime.batchSize);
        const items = rows.map((row) => ({ row, event: event(round.now) }));
        const outcomes = await stepMany(runtime, forked, tx, items);
        const moved = outcomes.filter((outcome) => outcome?.kind === 'applied').length;
        return rows.length === runtime.batchSize && moved > 0;
      });
    } finally {
      // A first batch that failed before claiming holds the second back no longer.
      if (index === 0) claimedFirst(false);
    }
  });
}
