/**
 * Builders for the effects the chart's named actions carry in their params. Each named effect
 * action resolves to `{ effects: [...] }`: plain data, one entry per agent where the effect is
 * per agent. `decide` passes them on unchanged.
 */
import type { KernelState, SessionContext } from '../src/core/context.js';
import type {
  CreateKernelsEffect,
  DestroyKernelsEffect,
  InspectKernelsEffect,
  NotifyEffect,
  PullImagesEffect,
  ReleaseEffect,
  ReserveEffect,
} from '../src/core/effects.js';
import { effectKey } from '../src/core/keys.js';
import type { Status } from '../src/core/types.js';
import { agentsOf, nowOf } from './session.model.js';

/** The params of a named effect action. */
export interface EffectParams<E> {
  effects: E[];
}

/** One `reserve` per agent, exactly what `holds` says. */
export function reserveParams(context: SessionContext): EffectParams<ReserveEffect> {
  const effects = Object.entries(context.holds).map(([agentId, slots]) => ({
    type: 'reserve' as const,
    sessionId: context.sessionId,
    agentId,
    slots,
  }));
  return { effects };
}

/** One `release` per agent, exactly what `holds` says (the caller then clears `holds`). */
export function releaseParams(context: SessionContext): EffectParams<ReleaseEffect> {
  const effects = Object.entries(context.holds).map(([agentId, slots]) => ({
    type: 'release' as const,
    sessionId: context.sessionId,
    agentId,
    slots,
  }));
  return { effects };
}

/** Group kernels that pass `test` by agent, in kernel order. */
function byAgent(
  kernels: readonly KernelState[],
  test: (kernel: KernelState) => boolean,
): [string, KernelState[]][] {
  const chosen = kernels.filter(test);
  return agentsOf(chosen).map((agentId) => [agentId, chosen.filter((k) => k.agentId === agentId)]);
}

/** `pullImages` for every agent with kernels whose image is not yet there (same attempt key). */
export function pullParams(context: SessionContext): EffectParams<PullImagesEffect> {
  const attempt = context.attempts.pull;
  const effects = byAgent(context.kernels, (k) => k.status !== 'PREPARED').map(
    ([agentId, kernels]) => ({
      type: 'pullImages' as const,
      sessionId: context.sessionId,
      agentId,
      image: context.spec.image,
      kernelIds: kernels.map((k) => k.id),
      attempt,
      key: effectKey({
        sessionId: context.sessionId,
        agentId,
        stage: 'pull',
        attempt,
        placement: context.reschedules,
      }),
    }),
  );
  return { effects };
}

/** `createKernels` for every agent, for the current create attempt. */
export function createParams(context: SessionContext): EffectParams<CreateKernelsEffect> {
  const attempt = context.attempts.create;
  const effects = byAgent(context.kernels, () => true).map(([agentId, kernels]) => ({
    type: 'createKernels' as const,
    sessionId: context.sessionId,
    agentId,
    image: context.spec.image,
    kernels: kernels.map((k) => ({ kernelId: k.id, slots: k.slots })),
    attempt,
    key: effectKey({
      sessionId: context.sessionId,
      agentId,
      stage: 'create',
      attempt,
      placement: context.reschedules,
    }),
  }));
  return { effects };
}

/** `inspectKernels` for every agent, about the current create attempt. */
export function inspectParams(context: SessionContext): EffectParams<InspectKernelsEffect> {
  const attempt = context.attempts.create;
  const effects = byAgent(context.kernels, () => true).map(([agentId, kernels]) => ({
    type: 'inspectKernels' as const,
    sessionId: context.sessionId,
    agentId,
    kernelIds: kernels.map((k) => k.id),
    attempt,
    key: effectKey({
      sessionId: context.sessionId,
      agentId,
      stage: 'inspect',
      attempt,
      discriminator: context.requestSeq,
    }),
  }));
  return { effects };
}

/** `destroyKernels` for every agent with kernels marked TERMINATING. */
export function destroyParams(context: SessionContext): EffectParams<DestroyKernelsEffect> {
  const attempt = context.attempts.create;
  const effects = byAgent(context.kernels, (k) => k.status === 'TERMINATING').map(
    ([agentId, kernels]) => ({
      type: 'destroyKernels' as const,
      sessionId: context.sessionId,
      agentId,
      kernelIds: kernels.map((k) => k.id),
      attempt,
      key: effectKey({
        sessionId: context.sessionId,
        agentId,
        stage: 'destroy',
        attempt,
        discriminator: context.requestSeq,
      }),
    }),
  );
  return { effects };
}

/** A `notify` for entering `to` / `substate`, from the status the last notify reported. */
export function notifyParams(
  context: SessionContext,
  event: { type: string },
  to: Status,
  substate: string,
): EffectParams<NotifyEffect> {
  const effect: NotifyEffect = {
    type: 'notify',
    sessionId: context.sessionId,
    from: context.lastStatus,
    to,
    substate,
    at: nowOf(context, event),
  };
  if (context.reason !== null) effect.reason = context.reason;
  return { effects: [effect] };
}
