/**
 * The chart's context updates, as pure reducers `(context, event, params) => context`. The
 * chart wraps each in `assign`; nested kernel updates go through immer.
 */
import { produce, setAutoFreeze } from 'immer';
import {
  type AttemptRecord,
  MAX_HISTORY,
  type SessionContext,
  type SessionInput,
} from '../src/core/context.js';
import type { SessionEvent } from '../src/core/events.js';
import type { Failure, Reason, Slots, Stage, Status } from '../src/core/types.js';
import { backoffDelay } from '../src/policy/backoff.js';
import { nextRandom } from '../src/policy/random.js';
import { agentOf, mayExist, nowOf } from './session.model.js';

// Snapshots are treated as immutable by convention; freezing every draft costs time per event.
setAutoFreeze(false);

type Ev = SessionEvent | { type: string };

/** Narrow an event to one type (reducers are only wired to the events they handle). */
function as<T extends SessionEvent['type']>(
  event: Ev,
  _type: T,
): Extract<SessionEvent, { type: T }> {
  return event as Extract<SessionEvent, { type: T }>;
}

/** Append to the history, dropping the oldest entries past `MAX_HISTORY`. */
function record(draft: SessionContext, entry: AttemptRecord): void {
  draft.history.push(entry);
  if (draft.history.length > MAX_HISTORY)
    draft.history.splice(0, draft.history.length - MAX_HISTORY);
}

/** The context of a new session. */
export function initialContext(input: SessionInput): SessionContext {
  return {
    sessionId: input.spec.id,
    spec: input.spec,
    policy: input.policy,
    kernels: input.spec.kernels.map((k) => ({
      id: k.id,
      slots: k.slots,
      agentId: null,
      status: 'PENDING',
      attempt: 0,
    })),
    holds: {},
    attempts: { pull: 0, create: 0 },
    reschedules: 0,
    avoid: {},
    history: [],
    reason: null,
    lastFailure: null,
    lastPlacementFailure: null,
    backoffMs: 0,
    rng: input.seed >>> 0,
    statusSince: input.now,
    lastStatus: 'PENDING',
    attemptStartedAt: input.now,
    inspected: [],
    requestSeq: 0,
    failedAgentId: null,
  };
}

function addSlots(into: Slots, add: Slots): Slots {
  const sum: Slots = { ...into };
  for (const [name, amount] of Object.entries(add) as [keyof Slots, number][]) {
    sum[name] = (sum[name] ?? 0) + amount;
  }
  return sum;
}

export function applyPlacement(context: SessionContext, event: Ev): SessionContext {
  const { placement, now } = as(event, 'SCHEDULE');
  return produce(context, (draft) => {
    draft.holds = {};
    for (const kernel of draft.kernels) {
      const agentId = placement[kernel.id] as string;
      kernel.agentId = agentId;
      kernel.status = 'SCHEDULED';
      draft.holds[agentId] = addSlots(draft.holds[agentId] ?? {}, kernel.slots);
    }
    draft.lastPlacementFailure = null;
    record(draft, {
      stage: 'schedule',
      attempt: draft.reschedules + 1,
      at: now,
      outcome: 'succeeded',
    });
  });
}

export function recordPlacementFailure(context: SessionContext, event: Ev): SessionContext {
  const { predicate, message, now } = as(event, 'PLACEMENT_FAILED');
  return { ...context, lastPlacementFailure: { predicate, message, at: now } };
}

/** Bookkeeping when a status / substate is entered (after its notify read `lastStatus`). */
export function enterStatus(
  context: SessionContext,
  event: Ev,
  params: { status: Status },
): SessionContext {
  if (context.lastStatus === params.status) return context;
  return { ...context, lastStatus: params.status, statusSince: nowOf(context, event) };
}

export function startPullAttempt(context: SessionContext, event: Ev): SessionContext {
  const at = nowOf(context, event);
  return produce(context, (draft) => {
    draft.attempts.pull += 1;
    draft.attemptStartedAt = at;
    record(draft, { stage: 'pull', attempt: draft.attempts.pull, at, outcome: 'started' });
  });
}

export function markPulling(context: SessionContext, event: Ev): SessionContext {
  const { agentId } = as(event, 'IMAGE_PULLING');
  return produce(context, (draft) => {
    for (const k of draft.kernels)
      if (k.agentId === agentId && k.status === 'SCHEDULED') k.status = 'PULLING';
  });
}

export function markPulled(context: SessionContext, event: Ev): SessionContext {
  const { agentId } = as(event, 'IMAGE_PULLED');
  return produce(context, (draft) => {
    for (const k of draft.kernels) if (k.agentId === agentId) k.status = 'PREPARED';
  });
}

/** A stage attempt succeeded (pull: all images present; create: all kernels running). */
export function stageSucceeded(
  context: SessionContext,
  event: Ev,
  params: { stage: Stage },
): SessionContext {
  return produce(context, (draft) => {
    const attempt = draft.attempts[params.stage];
    record(draft, {
      stage: params.stage,
      attempt,
      at: nowOf(context, event),
      outcome: 'succeeded',
    });
  });
}

/** What a failure note does: which failure (event's or given), and whether the agent is gone. */
export interface FailureParams {
  stage: Stage;
  failure?: Failure;
  outcome?: 'failed' | 'timed-out';
  /**
   * What the failure says about the failing agent's kernels (create stage): `notCreated` the
   * request failed, so kernels it never reported on do not exist; `agentGone` the agent was
   * lost with every kernel on it. Absent: nothing is known.
   */
  kernels?: 'notCreated' | 'agentGone';
}

/** Record a failure of the current attempt (and what it says about the agent's kernels). */
export function noteFailure(
  context: SessionContext,
  event: Ev,
  params: FailureParams,
): SessionContext {
  const failure = params.failure ?? (event as { failure: Failure }).failure;
  const agentId = agentOf(event);
  return produce(context, (draft) => {
    draft.lastFailure = failure;
    draft.failedAgentId = agentId;
    const entry: AttemptRecord = {
      stage: params.stage,
      attempt: draft.attempts[params.stage],
      at: nowOf(context, event),
      outcome: params.outcome ?? 'failed',
      failure,
    };
    if (agentId !== null) entry.agentId = agentId;
    record(draft, entry);
    if (agentId === null || params.stage !== 'create' || params.kernels === undefined) return;
    for (const k of draft.kernels) {
      if (k.agentId !== agentId || !mayExist(k)) continue;
      if (params.kernels === 'agentGone' || k.status === 'PREPARED') k.status = 'CANCELLED';
    }
  });
}

/** Draw the next jitter value and set the backoff delay for the coming retry. */
export function computeBackoff(
  context: SessionContext,
  _event: Ev,
  params: { stage: Stage },
): SessionContext {
  const draw = nextRandom(context.rng);
  const retryAfterMs = context.lastFailure?.retryAfterMs;
  const stagePolicy = context.policy[params.stage];
  const retry = context.attempts[params.stage];
  const backoffMs = backoffDelay(stagePolicy, retry, context.backoffMs, draw.value, retryAfterMs);
  return { ...context, rng: draw.state, backoffMs };
}

/** Back to PENDING: penalize the failing agent, reset placement and attempts (after release). */
export function reschedule(context: SessionContext): SessionContext {
  return produce(context, (draft) => {
    const agentId = draft.failedAgentId;
    if (agentId !== null) draft.avoid[agentId] = (draft.avoid[agentId] ?? 0) + 1;
    draft.reschedules += 1;
    draft.holds = {};
    draft.attempts = { pull: 0, create: 0 };
    draft.inspected = [];
    for (const k of draft.kernels) {
      k.agentId = null;
      k.status = 'PENDING';
      k.attempt = 0;
    }
  });
}

/** The reason to give up with, from the last failure's class. */
export function giveUp(
  context: SessionContext,
  _event: Ev,
  params: { stage: Stage },
): SessionContext {
  const failureClass = context.lastFailure?.class;
  let reason: Reason = `${params.stage}-retries-exhausted`;
  if (failureClass === 'permanent') reason = `${params.stage}-failed-permanently`;
  if (failureClass === 'agent') reason = 'reschedule-budget-exhausted';
  return { ...context, reason };
}

export function setReason(
  context: SessionContext,
  _event: Ev,
  params: { reason: Reason },
): SessionContext {
  return { ...context, reason: params.reason };
}

export function cancelled(context: SessionContext, event: Ev): SessionContext {
  return { ...context, reason: as(event, 'CANCEL').reason ?? 'user-cancelled' };
}

export function dropHolds(context: SessionContext): SessionContext {
  return { ...context, holds: {} };
}

/** Mark every kernel that may exist as being destroyed; a new destroy request number. */
export function markDestroying(context: SessionContext): SessionContext {
  return produce(context, (draft) => {
    for (const k of draft.kernels) if (mayExist(k)) k.status = 'TERMINATING';
    draft.requestSeq += 1;
  });
}

export function startCreateAttempt(context: SessionContext, event: Ev): SessionContext {
  const at = nowOf(context, event);
  return produce(context, (draft) => {
    draft.attempts.create += 1;
    draft.attemptStartedAt = at;
    draft.inspected = [];
    for (const k of draft.kernels) {
      k.attempt = draft.attempts.create;
      k.status = 'PREPARED';
    }
    record(draft, { stage: 'create', attempt: draft.attempts.create, at, outcome: 'started' });
  });
}

export function markCreating(context: SessionContext, event: Ev): SessionContext {
  const { agentId, kernelId } = as(event, 'KERNEL_CREATING');
  return produce(context, (draft) => {
    for (const k of draft.kernels) {
      if (k.id === kernelId && k.agentId === agentId && k.status === 'PREPARED')
        k.status = 'CREATING';
    }
  });
}

export function markRunning(context: SessionContext, event: Ev): SessionContext {
  const { agentId, kernelId } = as(event, 'KERNEL_STARTED');
  return produce(context, (draft) => {
    for (const k of draft.kernels) {
      if (k.id === kernelId && k.agentId === agentId && mayExist(k)) k.status = 'RUNNING';
    }
  });
}

/** A new verification round: nobody answered yet; a new inspect request number. */
export function beginVerification(context: SessionContext): SessionContext {
  return { ...context, inspected: [], requestSeq: context.requestSeq + 1 };
}

const INSPECTED_STATUS = { running: 'RUNNING', creating: 'CREATING', absent: 'CANCELLED' } as const;

export function applyInspection(context: SessionContext, event: Ev): SessionContext {
  const { agentId, kernels } = as(event, 'KERNELS_INSPECTED');
  return produce(context, (draft) => {
    draft.inspected.push(agentId);
    for (const k of draft.kernels) {
      if (k.agentId !== agentId || !mayExist(k)) continue;
      k.status = INSPECTED_STATUS[kernels[k.id] ?? 'absent'];
    }
  });
}

export function noteInspectFailure(context: SessionContext, event: Ev): SessionContext {
  const { agentId, failure, attempt, now } = as(event, 'INSPECT_FAILED');
  return produce(context, (draft) => {
    record(draft, { stage: 'verify', attempt, at: now, agentId, outcome: 'failed', failure });
  });
}

export function noteTimeout(
  context: SessionContext,
  event: Ev,
  params: { stage: AttemptRecord['stage'] },
): SessionContext {
  const at = nowOf(context, event);
  const attempt = context.attempts.create;
  return produce(context, (draft) => {
    record(draft, { stage: params.stage, attempt, at, outcome: 'timed-out' });
  });
}

export function markKernelGone(context: SessionContext, event: Ev): SessionContext {
  const { agentId, kernelId, outcome } = as(event, 'KERNEL_TERMINATED');
  return produce(context, (draft) => {
    for (const k of draft.kernels)
      if (k.id === kernelId && k.agentId === agentId) k.status = outcome;
  });
}

export function markAgentGone(context: SessionContext, event: Ev): SessionContext {
  const { agentId } = as(event, 'AGENT_LOST');
  return produce(context, (draft) => {
    for (const k of draft.kernels) {
      if (k.agentId === agentId && k.status !== 'TERMINATED') k.status = 'CANCELLED';
    }
  });
}
