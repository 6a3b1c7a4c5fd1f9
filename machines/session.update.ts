/**
 * The chart's context updates, as pure reducers `(context, event, params) => context`. The
 * chart wraps each in `assign`; kernel updates copy the kernels they change (`withKernels`).
 */
import {
  type AttemptRecord,
  type KernelState,
  MAX_HISTORY,
  type SessionContext,
  type SessionInput,
} from '../src/core/context.js';
import type { SessionEvent } from '../src/core/events.js';
import type { Failure, Reason, Slots, Stage, Status } from '../src/core/types.js';
import { backoffDelay } from '../src/policy/backoff.js';
import { nextRandom } from '../src/policy/random.js';
import { agentOf, mayExist, nowOf } from './session.model.js';

type Ev = SessionEvent | { type: string };

/** Narrow an event to one type (reducers are only wired to the events they handle). */
function as<T extends SessionEvent['type']>(
  event: Ev,
  _type: T,
): Extract<SessionEvent, { type: T }> {
  return event as Extract<SessionEvent, { type: T }>;
}

/** The history with `entry` appended, dropping the oldest entries past `MAX_HISTORY`. */
function recorded(history: readonly AttemptRecord[], entry: AttemptRecord): AttemptRecord[] {
  const next =
    history.length >= MAX_HISTORY
      ? history.slice(history.length - MAX_HISTORY + 1)
      : history.slice();
  next.push(entry);
  return next;
}

/**
 * The context with `recipe`'s kernel changes. The recipe assigns fields of the kernels it is
 * given, which are copies; a kernel whose fields all stay the same is kept as it was, and when
 * none changed the context itself is returned (what immer's `produce` gives, without proxies).
 */
function withKernels(
  context: SessionContext,
  recipe: (kernels: KernelState[]) => void,
): SessionContext {
  const drafts = context.kernels.map((kernel) => ({ ...kernel }));
  recipe(drafts);
  let changed = false;
  const kernels = drafts.map((draft, index) => {
    const kernel = context.kernels[index] as KernelState;
    if (sameFields(draft, kernel)) return kernel;
    changed = true;
    return draft;
  });
  return changed ? { ...context, kernels } : context;
}

function sameFields(a: KernelState, b: KernelState): boolean {
  for (const key in a) {
    if (a[key as keyof KernelState] !== b[key as keyof KernelState]) return false;
  }
  return true;
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
    cleanupWaits: 0,
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
  const holds: Record<string, Slots> = {};
  for (const kernel of context.kernels) {
    const agentId = placement[kernel.id] as string;
    holds[agentId] = addSlots(holds[agentId] ?? {}, kernel.slots);
  }
  const placed = withKernels(context, (kernels) => {
    for (const kernel of kernels) {
      kernel.agentId = placement[kernel.id] as string;
      kernel.status = 'SCHEDULED';
    }
  });
  const entry: AttemptRecord = {
    stage: 'schedule',
    attempt: context.reschedules + 1,
    at: now,
    outcome: 'succeeded',
  };
  const history = recorded(context.history, entry);
  return { ...placed, holds, lastPlacementFailure: null, history };
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
  const attempt = context.attempts.pull + 1;
  const history = recorded(context.history, { stage: 'pull', attempt, at, outcome: 'started' });
  const attempts = { ...context.attempts, pull: attempt };
  return { ...context, attempts, attemptStartedAt: at, history };
}

export function markPulling(context: SessionContext, event: Ev): SessionContext {
  const { agentId } = as(event, 'IMAGE_PULLING');
  return withKernels(context, (kernels) => {
    for (const k of kernels)
      if (k.agentId === agentId && k.status === 'SCHEDULED') k.status = 'PULLING';
  });
}

export function markPulled(context: SessionContext, event: Ev): SessionContext {
  const { agentId } = as(event, 'IMAGE_PULLED');
  return withKernels(context, (kernels) => {
    for (const k of kernels) if (k.agentId === agentId) k.status = 'PREPARED';
  });
}

/** A stage attempt succeeded (pull: all images present; create: all kernels running). */
export function stageSucceeded(
  context: SessionContext,
  event: Ev,
  params: { stage: Stage },
): SessionContext {
  const attempt = context.attempts[params.stage];
  const at = nowOf(context, event);
  const entry: AttemptRecord = { stage: params.stage, attempt, at, outcome: 'succeeded' };
  return { ...context, history: recorded(context.history, entry) };
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
  const entry: AttemptRecord = {
    stage: params.stage,
    attempt: context.attempts[params.stage],
    at: nowOf(context, event),
    outcome: params.outcome ?? 'failed',
    failure,
  };
  if (agentId !== null) entry.agentId = agentId;
  const noted = {
    ...context,
    lastFailure: failure,
    failedAgentId: agentId,
    history: recorded(context.history, entry),
  };
  const marks = params.kernels;
  if (agentId === null || params.stage !== 'create' || marks === undefined) return noted;
  return withKernels(noted, (kernels) => {
    for (const k of kernels) {
      if (k.agentId !== agentId || !mayExist(k)) continue;
      if (marks === 'agentGone' || k.status === 'PREPARED') k.status = 'CANCELLED';
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
  const agentId = context.failedAgentId;
  const avoid = { ...context.avoid };
  if (agentId !== null) avoid[agentId] = (avoid[agentId] ?? 0) + 1;
  const reset = withKernels(context, (kernels) => {
    for (const k of kernels) {
      k.agentId = null;
      k.status = 'PENDING';
      k.attempt = 0;
    }
  });
  return {
    ...reset,
    avoid,
    reschedules: context.reschedules + 1,
    holds: {},
    attempts: { pull: 0, create: 0 },
    inspected: [],
  };
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
  const marked = withKernels(context, (kernels) => {
    for (const k of kernels) if (mayExist(k)) k.status = 'TERMINATING';
  });
  return { ...marked, requestSeq: context.requestSeq + 1 };
}

/** A cleanup begins: no cleanup timeout has passed yet. */
export function beginCleanup(context: SessionContext): SessionContext {
  return context.cleanupWaits === 0 ? context : { ...context, cleanupWaits: 0 };
}

/** A cleanup timed out and the destroy is asked again. */
export function countCleanupWait(context: SessionContext): SessionContext {
  return { ...context, cleanupWaits: context.cleanupWaits + 1 };
}

export function startCreateAttempt(context: SessionContext, event: Ev): SessionContext {
  const at = nowOf(context, event);
  const attempt = context.attempts.create + 1;
  const reset = withKernels(context, (kernels) => {
    for (const k of kernels) {
      k.attempt = attempt;
      k.status = 'PREPARED';
    }
  });
  const history = recorded(context.history, { stage: 'create', attempt, at, outcome: 'started' });
  const attempts = { ...context.attempts, create: attempt };
  return { ...reset, attempts, attemptStartedAt: at, inspected: [], history };
}

export function markCreating(context: SessionContext, event: Ev): SessionContext {
  const { agentId, kernelId } = as(event, 'KERNEL_CREATING');
  return withKernels(context, (kernels) => {
    for (const k of kernels) {
      if (k.id === kernelId && k.agentId === agentId && k.status === 'PREPARED')
        k.status = 'CREATING';
    }
  });
}

export function markRunning(context: SessionContext, event: Ev): SessionContext {
  const { agentId, kernelId } = as(event, 'KERNEL_STARTED');
  return withKernels(context, (kernels) => {
    for (const k of kernels) {
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
  const { agentId, kernels: found } = as(event, 'KERNELS_INSPECTED');
  const applied = withKernels(context, (kernels) => {
    for (const k of kernels) {
      if (k.agentId !== agentId || !mayExist(k)) continue;
      k.status = INSPECTED_STATUS[found[k.id] ?? 'absent'];
    }
  });
  return { ...applied, inspected: [...context.inspected, agentId] };
}

export function noteInspectFailure(context: SessionContext, event: Ev): SessionContext {
  const { agentId, failure, attempt, now } = as(event, 'INSPECT_FAILED');
  const entry: AttemptRecord = {
    stage: 'verify',
    attempt,
    at: now,
    agentId,
    outcome: 'failed',
    failure,
  };
  return { ...context, history: recorded(context.history, entry) };
}

export function noteTimeout(
  context: SessionContext,
  event: Ev,
  params: { stage: AttemptRecord['stage'] },
): SessionContext {
  const at = nowOf(context, event);
  const entry: AttemptRecord = {
    stage: params.stage,
    attempt: context.attempts.create,
    at,
    outcome: 'timed-out',
  };
  return { ...context, history: recorded(context.history, entry) };
}

export function markKernelGone(context: SessionContext, event: Ev): SessionContext {
  const { agentId, kernelId, outcome } = as(event, 'KERNEL_TERMINATED');
  return withKernels(context, (kernels) => {
    for (const k of kernels) if (k.id === kernelId && k.agentId === agentId) k.status = outcome;
  });
}

export function markAgentGone(context: SessionContext, event: Ev): SessionContext {
  const { agentId } = as(event, 'AGENT_LOST');
  return withKernels(context, (kernels) => {
    for (const k of kernels) {
      if (k.agentId === agentId && k.status !== 'TERMINATED') k.status = 'CANCELLED';
    }
  });
}
