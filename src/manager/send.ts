/** Sends a sequence of events to one session, re-reading nothing between them. */
import type { SessionEvent } from '../core/events.js';
import type { StoreTx } from './ports.js';
import type { Round, Runtime } from './runtime.js';
import { loadRow, type StepOutcome, step } from './step.js';

/** `missing`: no such session. Otherwise the outcome of the last event sent. */
export type SendOutcome = StepOutcome | { kind: 'missing' };

/**
 * Loads the session and applies `events` in order, each to the row the previous one wrote.
 * Stops at the first conflict.
 */
export async function sendEvents(
  runtime: Runtime,
  round: Round,
  tx: StoreTx,
  sessionId: string,
  events: readonly SessionEvent[],
): Promise<SendOutcome> {
  let row = await loadRow(tx, sessionId);
  if (!row) return { kind: 'missing' };
  let outcome: SendOutcome = { kind: 'ignored' };
  for (const event of events) {
    outcome = await step(runtime, round, tx, row, event);
    if (outcome.kind === 'conflict') return outcome;
    if (outcome.kind === 'applied') row = outcome.row;
  }
  return outcome;
}
