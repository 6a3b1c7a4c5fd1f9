/** Small pure helpers of the benchmark reducer (`bench/reducer.ts`): spreads, no immer. */
import {
  type AttemptRecord,
  type KernelState,
  MAX_HISTORY,
  type SessionContext,
} from '../src/core/context.js';
import type { Effect } from '../src/core/effects.js';
import type { Failure, Slots, Stage } from '../src/core/types.js';

/** Kernel statuses in which a kernel of a sent create may exist (cleanup is needed). */
export const MAY_EXIST: readonly string[] = ['PREPARED', 'CREATING', 'RUNNING'];

/** Timer ids, as the chart names its delayed events. */
export const TIMER = {
  pullTimeout: 'xstate.after.pullTimeout.session.PREPARING.pulling',
  pullRecheck: 'xstate.after.pullRecheck.session.PREPARING.pulling.waiting',
  pullBackoff: 'xstate.after.pullBackoff.session.PREPARING.backoff',
  createTimeout: 'xstate.after.createTimeout.session.CREATING.creating',
  createRecheck: 'xstate.after.createRecheck.session.CREATING.creating',
  createBackoff: 'xstate.after.createBackoff.session.CREATING.backoff',
} as const;

export function noteFailure(
  ctx: SessionContext,
  stage: Stage,
  failure: Failure,
  agentId: string,
  at: number,
): SessionContext {
  const entry: AttemptRecord = {
    stage,
    attempt: ctx.attempts[stage],
    at,
    outcome: 'failed',
    failure,
    agentId,
  };
  return record({ ...ctx, lastFailure: failure, failedAgentId: agentId }, entry);
}

export function awaitsImage(ctx: SessionContext, agentId: string, attempt: number): boolean {
  if (attempt !== ctx.attempts.pull) return false;
  return ctx.kernels.some(
    (k) => k.agentId === agentId && (k.status === 'SCHEDULED' || k.status === 'PULLING'),
  );
}

export function kernelReport(
  ctx: SessionContext,
  event: { agentId: string; kernelId: string; attempt: number },
  statuses: string[],
): boolean {
  if (event.attempt !== ctx.attempts.create) return false;
  const kernel = ctx.kernels.find((k) => k.id === event.kernelId && k.agentId === event.agentId);
  return (
    kernel !== undefined &&
    kernel.attempt === ctx.attempts.create &&
    statuses.includes(kernel.status)
  );
}

export function setKernels(
  ctx: SessionContext,
  test: (k: KernelState) => boolean,
  status: KernelState['status'],
): KernelState[] {
  return ctx.kernels.map((k) => (test(k) ? { ...k, status } : k));
}

export function record(ctx: SessionContext, entry: AttemptRecord): SessionContext {
  const history = [...ctx.history, entry];
  return { ...ctx, history: history.length > MAX_HISTORY ? history.slice(-MAX_HISTORY) : history };
}

export function addSlots(into: Slots, add: Slots): Slots {
  const sum: Slots = { ...into };
  for (const [name, amount] of Object.entries(add) as [keyof Slots, number][])
    sum[name] = (sum[name] ?? 0) + amount;
  return sum;
}

export function timer(ctx: SessionContext, timerId: string, dueAt: number): Effect {
  return { type: 'setTimer', sessionId: ctx.sessionId, timerId, event: timerId, dueAt };
}

export function cancel(ctx: SessionContext, timerId: string): Effect {
  return { type: 'cancelTimer', sessionId: ctx.sessionId, timerId };
}
