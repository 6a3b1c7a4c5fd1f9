/**
 * The chart's guards: pure predicates over `(context, event, params)`. The chart wires them
 * into `setup({ guards })`; the decision core's fast path calls the same functions.
 */
import type { SessionContext } from '../src/core/context.js';
import type { SessionEvent } from '../src/core/events.js';
import type { Stage, Status } from '../src/core/types.js';
import {
  agentOf,
  agentsOf,
  allOthers,
  BEFORE_RUNNING,
  isGone,
  isLive,
  kernelOn,
  kernelsOn,
  MAX_CLEANUP_WAITS,
  mayExist,
} from './session.model.js';

type Ev = SessionEvent | { type: string };
type Field<K extends string, T> = { [P in K]: T };

function field<K extends string, T>(event: Ev, name: K): T {
  return (event as unknown as Field<K, T>)[name];
}

export function placementCoversKernels(context: SessionContext, event: Ev): boolean {
  const placement = field<'placement', Record<string, unknown>>(event, 'placement');
  return context.kernels.every(
    (k) => typeof placement[k.id] === 'string' && placement[k.id] !== '',
  );
}

/** A pull report for the current pull attempt from an agent with kernels not yet pulled. */
export function isPullReport(context: SessionContext, event: Ev): boolean {
  const agentId = agentOf(event) as string;
  if (field<'attempt', number>(event, 'attempt') !== context.attempts.pull) return false;
  return kernelsOn(context, agentId).some(
    (k) => k.status === 'SCHEDULED' || k.status === 'PULLING',
  );
}

/** A pull failure for the current pull attempt from an agent holding kernels of the session. */
export function isPullFailure(context: SessionContext, event: Ev): boolean {
  if (field<'attempt', number>(event, 'attempt') !== context.attempts.pull) return false;
  return kernelsOn(context, agentOf(event) as string).length > 0;
}

/** The image is reported present on an agent with kernels still waiting for it (any attempt). */
export function agentAwaitingImage(context: SessionContext, event: Ev): boolean {
  const agentId = agentOf(event) as string;
  return kernelsOn(context, agentId).some(
    (k) => k.status === 'SCHEDULED' || k.status === 'PULLING',
  );
}

/** This report makes every kernel PREPARED. */
export function completesPull(context: SessionContext, event: Ev): boolean {
  const agentId = agentOf(event) as string;
  if (!agentAwaitingImage(context, event)) return false;
  return allOthers(
    context,
    (k) => k.agentId === agentId,
    (k) => k.status === 'PREPARED',
  );
}

/** A create failure for the current attempt from an agent holding kernels of the session. */
export function isCreateFailure(
  context: SessionContext,
  event: Ev,
  params: { ambiguous: boolean },
): boolean {
  if (field<'attempt', number>(event, 'attempt') !== context.attempts.create) return false;
  const failure = field<'failure', { class: string }>(event, 'failure');
  if ((failure.class === 'ambiguous') !== params.ambiguous) return false;
  return kernelsOn(context, agentOf(event) as string).length > 0;
}

/** A kernel report for the current create attempt on a kernel in one of `statuses`. */
function kernelReport(context: SessionContext, event: Ev, statuses: readonly string[]): boolean {
  if (field<'attempt', number>(event, 'attempt') !== context.attempts.create) return false;
  const kernel = kernelOn(context, agentOf(event) as string, field(event, 'kernelId'));
  return (
    kernel !== undefined &&
    kernel.attempt === context.attempts.create &&
    statuses.includes(kernel.status)
  );
}

export function isKernelCreating(context: SessionContext, event: Ev): boolean {
  return kernelReport(context, event, ['PREPARED']);
}

export function isKernelStarted(context: SessionContext, event: Ev): boolean {
  return kernelReport(context, event, ['PREPARED', 'CREATING']);
}

/** This start report makes every kernel RUNNING. */
export function completesStart(context: SessionContext, event: Ev): boolean {
  if (!isKernelStarted(context, event)) return false;
  const kernelId = field<'kernelId', string>(event, 'kernelId');
  return allOthers(
    context,
    (k) => k.id === kernelId,
    (k) => k.status === 'RUNNING',
  );
}

/** The last failure may be retried in place and the stage has attempts left. */
export function canRetry(context: SessionContext, _event: Ev, params: { stage: Stage }): boolean {
  const failureClass = context.lastFailure?.class;
  if (failureClass !== 'transient' && failureClass !== 'ambiguous') return false;
  return context.attempts[params.stage] < context.policy[params.stage].maxAttempts;
}

/** The last failure is the agent's and the reschedule budget is not spent. */
export function canReschedule(context: SessionContext): boolean {
  if (context.lastFailure?.class !== 'agent') return false;
  return context.reschedules < context.policy.rescheduleBudget;
}

export function kernelsMayExist(context: SessionContext): boolean {
  return context.kernels.some(mayExist);
}

/** The step after the cleanup under way would create kernels again (a retry or a reschedule). */
export function nextStepCreates(context: SessionContext, event: Ev): boolean {
  return canRetry(context, event, { stage: 'create' }) || canReschedule(context);
}

/** A cleanup timed out before the next create may go out: ask again, within the bound. */
export function mayAwaitDestroy(context: SessionContext, event: Ev): boolean {
  return context.cleanupWaits < MAX_CLEANUP_WAITS && nextStepCreates(context, event);
}

/** An inspection answer for the current attempt from an agent that has not answered yet. */
export function isInspection(context: SessionContext, event: Ev): boolean {
  if (field<'attempt', number>(event, 'attempt') !== context.attempts.create) return false;
  const agentId = agentOf(event) as string;
  return !context.inspected.includes(agentId) && kernelsOn(context, agentId).length > 0;
}

/** INSPECT_FAILED of the given kind (agent gone or not) from an agent not yet answered. */
export function isInspectFailure(
  context: SessionContext,
  event: Ev,
  params: { agent: boolean },
): boolean {
  const failure = field<'failure', { class: string }>(event, 'failure');
  return isInspection(context, event) && (failure.class === 'agent') === params.agent;
}

/** Outcomes of a finished verification (every agent answered). */
export type InspectionOutcome = 'running' | 'creating' | 'failed';

export function inspectionIs(
  context: SessionContext,
  event: Ev,
  params: { outcome: InspectionOutcome },
): boolean {
  const agents = agentsOf(context.kernels);
  if (!agents.every((a) => context.inspected.includes(a))) return false;
  return inspectionOutcome(context, event) === params.outcome;
}

function inspectionOutcome(context: SessionContext, event: Ev): InspectionOutcome {
  const kernels = context.kernels;
  if (kernels.every((k) => k.status === 'RUNNING')) return 'running';
  const allAlive = kernels.every((k) => k.status === 'RUNNING' || k.status === 'CREATING');
  const now = field<'now', number>(event, 'now');
  const overdue = now >= context.attemptStartedAt + context.policy.create.timeoutMs;
  return allAlive && !overdue ? 'creating' : 'failed';
}

/** The kernel a KERNEL_TERMINATED names, unless the report is for another create attempt. */
function endedKernel(context: SessionContext, event: Ev) {
  const kernel = kernelOn(context, agentOf(event) as string, field(event, 'kernelId'));
  const attempt = (event as { attempt?: unknown }).attempt;
  if (typeof attempt === 'number' && kernel && attempt !== kernel.attempt) return undefined;
  return kernel;
}

/** A destroy confirmation for a kernel being destroyed. */
export function isDestroyReport(context: SessionContext, event: Ev): boolean {
  return endedKernel(context, event)?.status === 'TERMINATING';
}

/** This destroy confirmation is the last one awaited. */
export function completesDestroy(context: SessionContext, event: Ev): boolean {
  if (!isDestroyReport(context, event)) return false;
  const kernelId = field<'kernelId', string>(event, 'kernelId');
  return allOthers(
    context,
    (k) => k.id === kernelId,
    (k) => k.status !== 'TERMINATING',
  );
}

/** A running kernel ended on its own. */
export function isExitReport(context: SessionContext, event: Ev): boolean {
  return endedKernel(context, event)?.status === 'RUNNING';
}

/** A running kernel ended on its own and it was the last one alive. */
export function lastKernelExited(context: SessionContext, event: Ev): boolean {
  if (!isExitReport(context, event)) return false;
  const kernelId = field<'kernelId', string>(event, 'kernelId');
  return allOthers(context, (k) => k.id === kernelId, isGone);
}

/** The lost agent holds kernels of this session that are not gone. */
export function holdsKernelsOn(context: SessionContext, event: Ev): boolean {
  return kernelsOn(context, agentOf(event) as string).some((k) => !isGone(k));
}

/** The lost agent held every kernel still being destroyed. */
export function agentLossCompletesDestroy(context: SessionContext, event: Ev): boolean {
  const agentId = agentOf(event) as string;
  if (!holdsKernelsOn(context, event)) return false;
  return allOthers(
    context,
    (k) => k.agentId === agentId,
    (k) => !isLive(k),
  );
}

export function statusIn(
  context: SessionContext,
  _event: Ev,
  params: { statuses: readonly Status[] },
): boolean {
  return params.statuses.includes(context.lastStatus);
}

/** TERMINATE while kernels may be alive in CREATING or RUNNING: destroy them first. */
export function terminatesKernels(context: SessionContext): boolean {
  const status = context.lastStatus;
  return (status === 'CREATING' || status === 'RUNNING') && context.kernels.some(isLive);
}

/** The overall deadline (if any) has passed and the session is not yet RUNNING. */
export function deadlinePassed(context: SessionContext, event: Ev): boolean {
  const deadlineMs = context.policy.deadlineMs;
  const now = (event as { now?: unknown }).now;
  if (deadlineMs === undefined || typeof now !== 'number') return false;
  if (!BEFORE_RUNNING.includes(context.lastStatus)) return false;
  return now >= context.spec.submittedAt + deadlineMs;
}
