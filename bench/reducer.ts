/**
 * A hand-written switch reducer over the same context and effects as the session chart, for
 * the decide benchmark's baseline. It covers what the benchmark stream exercises: the path to
 * RUNNING, transient pull and create failures with backoff and retry, and giving up or
 * rescheduling when a retry is not allowed. Updates are immutable (spreads, no immer); effects
 * are built by the chart's own builders, so both sides produce equal objects.
 *
 * Paths the stream never takes (verify, cleanup, cancel, terminate, running and terminating)
 * are not written out: such an event throws, so the benchmark cannot silently measure less.
 */
import {
  createParams,
  notifyParams,
  pullParams,
  releaseParams,
  reserveParams,
} from '../machines/session.effects.js';
import { initialContext } from '../machines/session.update.js';
import type { SessionContext, SessionInput } from '../src/core/context.js';
import type { Effect } from '../src/core/effects.js';
import type { SessionEvent } from '../src/core/events.js';
import type { Reason, Slots, Stage, Status } from '../src/core/types.js';
import { backoffDelay } from '../src/policy/backoff.js';
import { nextRandom } from '../src/policy/random.js';
import {
  addSlots,
  awaitsImage,
  cancel,
  kernelReport,
  MAY_EXIST,
  noteFailure,
  record,
  setKernels,
  TIMER,
  timer,
} from './reducer-parts.js';

/** The reducer's state: the status, the substate path below it, and the chart's context. */
export interface ReducerState {
  status: Status;
  substate: string;
  context: SessionContext;
}

export interface ReducerStep {
  next: ReducerState;
  effects: Effect[];
}

export function initial(input: SessionInput): ReducerStep {
  const context = initialContext(input);
  const effects: Effect[] = [];
  return { next: enter(context, 'PENDING', '', input.now, effects), effects };
}

export function reduce(state: ReducerState, event: SessionEvent): ReducerStep {
  const effects: Effect[] = [];
  const next = step(state, event, effects);
  return { next: next ?? state, effects };
}

function step(state: ReducerState, event: SessionEvent, fx: Effect[]): ReducerState | null {
  const ctx = state.context;
  switch (state.status) {
    case 'PENDING':
      if (event.type !== 'SCHEDULE') return unsupported(state, event);
      if (!ctx.kernels.every((k) => typeof event.placement[k.id] === 'string')) return null;
      return schedule(ctx, event.placement, event.now, fx);
    case 'SCHEDULED':
      if (event.type !== 'PREPARE') return unsupported(state, event);
      return startPull(ctx, event.now, fx);
    case 'PREPARING':
      return preparing(state, event, fx);
    case 'PREPARED':
      if (event.type !== 'START') return unsupported(state, event);
      return startCreate(ctx, event.now, fx);
    case 'CREATING':
      return creating(state, event, fx);
    default:
      return unsupported(state, event);
  }
}

function preparing(state: ReducerState, event: SessionEvent, fx: Effect[]): ReducerState | null {
  const ctx = state.context;
  const pulling = state.substate === 'pulling.waiting';
  switch (event.type) {
    case 'IMAGE_PULLING': {
      if (!pulling || !awaitsImage(ctx, event.agentId, event.attempt)) return null;
      const kernels = setKernels(
        ctx,
        (k) => k.agentId === event.agentId && k.status === 'SCHEDULED',
        'PULLING',
      );
      return { ...state, context: { ...ctx, kernels } };
    }
    case 'IMAGE_PULLED': {
      if (!awaitsImage(ctx, event.agentId, ctx.attempts.pull)) return null;
      const kernels = setKernels(ctx, (k) => k.agentId === event.agentId, 'PREPARED');
      const pulled = { ...ctx, kernels };
      if (!kernels.every((k) => k.status === 'PREPARED')) return { ...state, context: pulled };
      exitPreparing(state, fx);
      const done = record(pulled, {
        stage: 'pull',
        attempt: ctx.attempts.pull,
        at: event.now,
        outcome: 'succeeded',
      });
      return enter(done, 'PREPARED', '', event.now, fx);
    }
    case 'PULL_FAILED': {
      if (!pulling || !awaitsImage(ctx, event.agentId, event.attempt)) return null;
      exitPreparing(state, fx);
      return failed(
        noteFailure(ctx, 'pull', event.failure, event.agentId, event.now),
        'pull',
        event.now,
        fx,
      );
    }
    case TIMER.pullBackoff:
      if (state.substate !== 'backoff') return null;
      fx.push(cancel(ctx, TIMER.pullBackoff));
      return startPull(ctx, event.now, fx);
    default:
      return unsupported(state, event);
  }
}

function creating(state: ReducerState, event: SessionEvent, fx: Effect[]): ReducerState | null {
  const ctx = state.context;
  const active = state.substate === 'creating';
  switch (event.type) {
    case 'KERNEL_CREATING': {
      if (!active || !kernelReport(ctx, event, ['PREPARED'])) return null;
      const kernels = setKernels(
        ctx,
        (k) => k.id === event.kernelId && k.agentId === event.agentId,
        'CREATING',
      );
      return { ...state, context: { ...ctx, kernels } };
    }
    case 'KERNEL_STARTED': {
      if (!active || !kernelReport(ctx, event, ['PREPARED', 'CREATING'])) return null;
      const kernels = setKernels(
        ctx,
        (k) => k.id === event.kernelId && k.agentId === event.agentId,
        'RUNNING',
      );
      const started = { ...ctx, kernels };
      if (!kernels.every((k) => k.status === 'RUNNING')) return { ...state, context: started };
      fx.push(cancel(ctx, TIMER.createTimeout), cancel(ctx, TIMER.createRecheck));
      const done = record(started, {
        stage: 'create',
        attempt: ctx.attempts.create,
        at: event.now,
        outcome: 'succeeded',
      });
      return enter(done, 'RUNNING', '', event.now, fx);
    }
    case 'CREATE_FAILED': {
      if (!active || event.attempt !== ctx.attempts.create) return null;
      if (event.failure.class === 'ambiguous') return unsupported(state, event);
      if (
        !ctx.kernels.some(
          (k) =>
            k.agentId === event.agentId && (k.status === 'PREPARED' || k.status === 'CREATING'),
        )
      )
        return null;
      fx.push(cancel(ctx, TIMER.createTimeout), cancel(ctx, TIMER.createRecheck));
      const noted = noteFailure(ctx, 'create', event.failure, event.agentId, event.now);
      const kernels = setKernels(
        noted,
        (k) => k.agentId === event.agentId && k.attempt > 0 && k.status === 'PREPARED',
        'CANCELLED',
      );
      if (kernels.some((k) => k.attempt > 0 && MAY_EXIST.includes(k.status)))
        return unsupported(state, event);
      return failed({ ...noted, kernels }, 'create', event.now, fx);
    }
    case TIMER.createBackoff:
      if (state.substate !== 'backoff') return null;
      fx.push(cancel(ctx, TIMER.createBackoff));
      return startCreate(ctx, event.now, fx);
    default:
      return unsupported(state, event);
  }
}

function schedule(
  ctx: SessionContext,
  placement: Record<string, string>,
  now: number,
  fx: Effect[],
): ReducerState {
  const holds: Record<string, Slots> = {};
  const kernels = ctx.kernels.map((k) => {
    const agentId = placement[k.id] as string;
    holds[agentId] = addSlots(holds[agentId] ?? {}, k.slots);
    return { ...k, agentId, status: 'SCHEDULED' as const };
  });
  const placed = record(
    { ...ctx, kernels, holds, lastPlacementFailure: null },
    { stage: 'schedule', attempt: ctx.reschedules + 1, at: now, outcome: 'succeeded' },
  );
  fx.push(...reserveParams(placed).effects);
  return enter(placed, 'SCHEDULED', '', now, fx);
}

function startPull(ctx: SessionContext, now: number, fx: Effect[]): ReducerState {
  const attempt = ctx.attempts.pull + 1;
  const started = record(
    { ...ctx, attempts: { ...ctx.attempts, pull: attempt }, attemptStartedAt: now },
    { stage: 'pull', attempt, at: now, outcome: 'started' },
  );
  fx.push(...pullParams(started).effects);
  const next = enter(started, 'PREPARING', 'pulling.waiting', now, fx);
  fx.push(timer(ctx, TIMER.pullTimeout, now + ctx.policy.pull.timeoutMs));
  fx.push(timer(ctx, TIMER.pullRecheck, now + ctx.policy.pull.recheckMs));
  return next;
}

function startCreate(ctx: SessionContext, now: number, fx: Effect[]): ReducerState {
  const attempt = ctx.attempts.create + 1;
  const kernels = ctx.kernels.map((k) => ({ ...k, attempt, status: 'PREPARED' as const }));
  const started = record(
    {
      ...ctx,
      kernels,
      attempts: { ...ctx.attempts, create: attempt },
      attemptStartedAt: now,
      inspected: [],
    },
    { stage: 'create', attempt, at: now, outcome: 'started' },
  );
  fx.push(...createParams(started).effects);
  const next = enter(started, 'CREATING', 'creating', now, fx);
  fx.push(timer(ctx, TIMER.createTimeout, now + ctx.policy.create.timeoutMs));
  fx.push(timer(ctx, TIMER.createRecheck, now + ctx.policy.create.recheckMs));
  return next;
}

/** After a failed attempt: back off and retry, reschedule, or give up. */
function failed(ctx: SessionContext, stage: Stage, now: number, fx: Effect[]): ReducerState {
  const failureClass = ctx.lastFailure?.class;
  const retryable = failureClass === 'transient' || failureClass === 'ambiguous';
  if (retryable && ctx.attempts[stage] < ctx.policy[stage].maxAttempts) {
    const draw = nextRandom(ctx.rng);
    const backoffMs = backoffDelay(
      ctx.policy[stage],
      ctx.attempts[stage],
      ctx.backoffMs,
      draw.value,
      ctx.lastFailure?.retryAfterMs,
    );
    const waiting = { ...ctx, rng: draw.state, backoffMs };
    const status = stage === 'pull' ? 'PREPARING' : 'CREATING';
    const next = enter(waiting, status, 'backoff', now, fx);
    fx.push(
      timer(ctx, stage === 'pull' ? TIMER.pullBackoff : TIMER.createBackoff, now + backoffMs),
    );
    return next;
  }
  fx.push(...releaseParams(ctx).effects);
  if (failureClass === 'agent' && ctx.reschedules < ctx.policy.rescheduleBudget) {
    return enter(rescheduled(ctx), 'PENDING', '', now, fx);
  }
  const ended = { ...ctx, holds: {}, reason: giveUpReason(failureClass, stage) };
  return enter(ended, 'CANCELLED', '', now, fx);
}

function giveUpReason(failureClass: string | undefined, stage: Stage): Reason {
  if (failureClass === 'permanent') return `${stage}-failed-permanently`;
  if (failureClass === 'agent') return 'reschedule-budget-exhausted';
  return `${stage}-retries-exhausted`;
}

function rescheduled(ctx: SessionContext): SessionContext {
  const avoid = { ...ctx.avoid };
  if (ctx.failedAgentId !== null) avoid[ctx.failedAgentId] = (avoid[ctx.failedAgentId] ?? 0) + 1;
  const kernels = ctx.kernels.map((k) => ({
    ...k,
    agentId: null,
    status: 'PENDING' as const,
    attempt: 0,
  }));
  return {
    ...ctx,
    avoid,
    kernels,
    reschedules: ctx.reschedules + 1,
    holds: {},
    attempts: { pull: 0, create: 0 },
    inspected: [],
  };
}

function exitPreparing(state: ReducerState, fx: Effect[]): void {
  if (state.substate === 'backoff') fx.push(cancel(state.context, TIMER.pullBackoff));
  else fx.push(cancel(state.context, TIMER.pullRecheck), cancel(state.context, TIMER.pullTimeout));
}

/** Entering a status or substate: notify, then record the status. */
function enter(
  ctx: SessionContext,
  status: Status,
  substate: string,
  now: number,
  fx: Effect[],
): ReducerState {
  fx.push(...notifyParams(ctx, { type: 'enter', now } as never, status, substate).effects);
  const context =
    ctx.lastStatus === status ? ctx : { ...ctx, lastStatus: status, statusSince: now };
  return { status, substate, context };
}

function unsupported(state: ReducerState, event: SessionEvent): never {
  throw new Error(
    `bench reducer: ${event.type} in ${state.status}.${state.substate} is not written out`,
  );
}
