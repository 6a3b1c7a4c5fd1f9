/**
 * What an agent's answer to a dispatched call means for its session: the events to send, or
 * `retry` when the call must be made again later. Pure.
 */
import type { KernelState, SessionContext } from '../core/context.js';
import type { AgentEffect } from '../core/effects.js';
import type { SessionEvent } from '../core/events.js';
import { AGENT_LOST_CODE, type Failure } from '../core/types.js';
import type { AgentCallResult, InspectResult } from './ports.js';

/**
 * The events an answer stands for; `retry` when the call must be made again later. `resent`:
 * the call had been sent before (a re-dispatch after a crash or an expired lease).
 */
export function answerEvents(
  context: SessionContext,
  effect: AgentEffect,
  answer: AgentCallResult | InspectResult,
  now: number,
  resent = false,
): SessionEvent[] | 'retry' {
  const { agentId, attempt } = effect;
  switch (effect.type) {
    case 'pullImages':
      return answer.ok ? [] : [{ type: 'PULL_FAILED', now, agentId, attempt, ...failure(answer) }];
    case 'createKernels':
      return answer.ok
        ? []
        : [{ type: 'CREATE_FAILED', now, agentId, attempt, ...createFailure(answer, resent) }];
    case 'inspectKernels':
      return inspectEvents(effect, answer as InspectResult, now);
    case 'destroyKernels':
      return destroyEvents(context, effect, answer, now);
  }
}

function failure(answer: { ok: false; failure: Failure }): { failure: Failure } {
  return { failure: answer.failure };
}

/** What a refused create that had been sent before adds to its failure message. */
const RESENT_CREATE = '(the create had been sent before: it may have made the kernels)';

/**
 * A refused create that had been sent before says nothing of the earlier send, which may have
 * made the kernels (an agent busy now, taking no placements now, or out of capacity because of
 * them): the outcome is unknown, so the failure is ambiguous and the chart inspects the agent
 * before anything else, whatever the refusal's class. Only a lost agent took any kernel with it
 * (`AGENT_LOST_CODE`); an ambiguous failure already is one.
 */
function createFailure(answer: { ok: false; failure: Failure }, resent: boolean) {
  const { failure: original } = answer;
  const known = original.code === AGENT_LOST_CODE || original.class === 'ambiguous';
  if (!resent || known) return { failure: original };
  const message = `${original.message} ${RESENT_CREATE}`;
  return { failure: { ...original, class: 'ambiguous' as const, message } };
}

function inspectEvents(
  effect: Extract<AgentEffect, { type: 'inspectKernels' }>,
  answer: InspectResult,
  now: number,
): SessionEvent[] {
  const { agentId, attempt } = effect;
  if (!answer.ok) return [{ type: 'INSPECT_FAILED', now, agentId, attempt, ...failure(answer) }];
  return [{ type: 'KERNELS_INSPECTED', now, agentId, attempt, kernels: answer.kernels }];
}

/**
 * A confirmed destroy means the kernels are gone: one KERNEL_TERMINATED per kernel (TERMINATED
 * if it was running, else CANCELLED). A failure with `AGENT_LOST_CODE` means the agent is gone
 * and its kernels with it. Every other failure (busy, unreachable, refused) may leave the
 * kernels running, so the destroy is retried with backoff until the agent confirms or is lost.
 */
function destroyEvents(
  context: SessionContext,
  effect: Extract<AgentEffect, { type: 'destroyKernels' }>,
  answer: AgentCallResult | InspectResult,
  now: number,
): SessionEvent[] | 'retry' {
  if (!answer.ok && answer.failure.code !== AGENT_LOST_CODE) return 'retry';
  return effect.kernelIds.map((kernelId) => {
    const kernel = context.kernels.find((candidate) => candidate.id === kernelId);
    const outcome = answer.ok && kernel && hadRun(context, kernel) ? 'TERMINATED' : 'CANCELLED';
    // `attempt`: the create attempt the destroy concerns, so the chart can tell a late answer
    // about an earlier attempt's kernel from the current kernel (same id).
    const { agentId, attempt } = effect;
    return { type: 'KERNEL_TERMINATED', now, agentId, kernelId, outcome, ...{ attempt } };
  });
}

/**
 * Whether a kernel being destroyed had run: it is RUNNING, or it is TERMINATING and its create
 * attempt succeeded (the chart marks kernels TERMINATING when it asks for the destroy).
 */
function hadRun(context: SessionContext, kernel: KernelState): boolean {
  if (kernel.status === 'RUNNING') return true;
  if (kernel.status !== 'TERMINATING') return false;
  return context.history.some(
    (record) =>
      record.stage === 'create' &&
      record.outcome === 'succeeded' &&
      record.attempt === kernel.attempt,
  );
}
