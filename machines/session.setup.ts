/**
 * The chart's implementations: `setup({ types, actions, guards, delays })`. Effect actions are
 * no-op stubs whose params carry the effects (see `session.effects.ts`); context updates wrap
 * the pure reducers of `session.update.ts`; guards are `session.guards.ts`.
 */
import { assign, setup } from 'xstate';
import type { SessionContext, SessionInput } from '../src/core/context.js';
import type {
  CreateKernelsEffect,
  DestroyKernelsEffect,
  InspectKernelsEffect,
  NotifyEffect,
  PullImagesEffect,
  ReleaseEffect,
  ReserveEffect,
} from '../src/core/effects.js';
import type { SessionEvent } from '../src/core/events.js';
import type { Reason, Stage, Status } from '../src/core/types.js';
import type { EffectParams } from './session.effects.js';
import * as guards from './session.guards.js';
import { nowOf } from './session.model.js';
import * as update from './session.update.js';

/** Names of the chart's effect actions: each is the `type` of the effects it carries. */
export const EFFECT_ACTIONS = [
  'reserve',
  'release',
  'pullImages',
  'createKernels',
  'inspectKernels',
  'destroyKernels',
  'notify',
] as const;

const stub = () => {};

/** Delays computed from the context; all in ms. */
export const delays = {
  pullBackoff: ({ context }: { context: SessionContext }) => context.backoffMs,
  createBackoff: ({ context }: { context: SessionContext }) => context.backoffMs,
  pullTimeout: ({ context }: { context: SessionContext }) => context.policy.pull.timeoutMs,
  pullRecheck: ({ context }: { context: SessionContext }) => context.policy.pull.recheckMs,
  createRecheck: ({ context }: { context: SessionContext }) => context.policy.create.recheckMs,
  cleanupTimeout: ({ context }: { context: SessionContext }) => context.policy.cleanupTimeoutMs,
  /** What is left of the attempt's deadline (re-armed when `creating` is re-entered). */
  createTimeout: ({ context, event }: { context: SessionContext; event: { type: string } }) => {
    const due = context.attemptStartedAt + context.policy.create.timeoutMs;
    return Math.max(0, due - nowOf(context, event));
  },
  /** Time left until the overall deadline; without one the timer is not armed at all. */
  deadline: ({ context }: { context: SessionContext }) => {
    const { deadlineMs } = context.policy;
    if (deadlineMs === undefined) return undefined as unknown as number;
    return Math.max(0, context.spec.submittedAt + deadlineMs - context.statusSince);
  },
};

export const sessionSetup = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actions: {
    reserve: (_: unknown, _params: EffectParams<ReserveEffect>) => stub(),
    release: (_: unknown, _params: EffectParams<ReleaseEffect>) => stub(),
    pullImages: (_: unknown, _params: EffectParams<PullImagesEffect>) => stub(),
    createKernels: (_: unknown, _params: EffectParams<CreateKernelsEffect>) => stub(),
    inspectKernels: (_: unknown, _params: EffectParams<InspectKernelsEffect>) => stub(),
    destroyKernels: (_: unknown, _params: EffectParams<DestroyKernelsEffect>) => stub(),
    notify: (_: unknown, _params: EffectParams<NotifyEffect>) => stub(),
    applyPlacement: assign(({ context, event }) => update.applyPlacement(context, event)),
    recordPlacementFailure: assign(({ context, event }) =>
      update.recordPlacementFailure(context, event),
    ),
    enterStatus: assign(({ context, event }, params: { status: Status }) =>
      update.enterStatus(context, event, params),
    ),
    startPullAttempt: assign(({ context, event }) => update.startPullAttempt(context, event)),
    markPulling: assign(({ context, event }) => update.markPulling(context, event)),
    markPulled: assign(({ context, event }) => update.markPulled(context, event)),
    stageSucceeded: assign(({ context, event }, params: { stage: Stage }) =>
      update.stageSucceeded(context, event, params),
    ),
    noteFailure: assign(({ context, event }, params: update.FailureParams) =>
      update.noteFailure(context, event, params),
    ),
    computeBackoff: assign(({ context, event }, params: { stage: Stage }) =>
      update.computeBackoff(context, event, params),
    ),
    reschedule: assign(({ context }) => update.reschedule(context)),
    giveUp: assign(({ context, event }, params: { stage: Stage }) =>
      update.giveUp(context, event, params),
    ),
    setReason: assign(({ context, event }, params: { reason: Reason }) =>
      update.setReason(context, event, params),
    ),
    cancelled: assign(({ context, event }) => update.cancelled(context, event)),
    dropHolds: assign(({ context }) => update.dropHolds(context)),
    markDestroying: assign(({ context }) => update.markDestroying(context)),
    beginCleanup: assign(({ context }) => update.beginCleanup(context)),
    countCleanupWait: assign(({ context }) => update.countCleanupWait(context)),
    startCreateAttempt: assign(({ context, event }) => update.startCreateAttempt(context, event)),
    markCreating: assign(({ context, event }) => update.markCreating(context, event)),
    markRunning: assign(({ context, event }) => update.markRunning(context, event)),
    beginVerification: assign(({ context }) => update.beginVerification(context)),
    applyInspection: assign(({ context, event }) => update.applyInspection(context, event)),
    noteInspectFailure: assign(({ context, event }) => update.noteInspectFailure(context, event)),
    noteTimeout: assign(({ context, event }, params: { stage: 'create' | 'cleanup' }) =>
      update.noteTimeout(context, event, params),
    ),
    markKernelGone: assign(({ context, event }) => update.markKernelGone(context, event)),
    markAgentGone: assign(({ context, event }) => update.markAgentGone(context, event)),
  },
  guards: {
    placementCoversKernels: ({ context, event }) => guards.placementCoversKernels(context, event),
    isPullReport: ({ context, event }) => guards.isPullReport(context, event),
    isPullFailure: ({ context, event }) => guards.isPullFailure(context, event),
    agentAwaitingImage: ({ context, event }) => guards.agentAwaitingImage(context, event),
    completesPull: ({ context, event }) => guards.completesPull(context, event),
    isCreateFailure: ({ context, event }, params: { ambiguous: boolean }) =>
      guards.isCreateFailure(context, event, params),
    isKernelCreating: ({ context, event }) => guards.isKernelCreating(context, event),
    isKernelStarted: ({ context, event }) => guards.isKernelStarted(context, event),
    completesStart: ({ context, event }) => guards.completesStart(context, event),
    canRetry: ({ context, event }, params: { stage: Stage }) =>
      guards.canRetry(context, event, params),
    canReschedule: ({ context }) => guards.canReschedule(context),
    kernelsMayExist: ({ context }) => guards.kernelsMayExist(context),
    nextStepCreates: ({ context, event }) => guards.nextStepCreates(context, event),
    mayAwaitDestroy: ({ context, event }) => guards.mayAwaitDestroy(context, event),
    isInspection: ({ context, event }) => guards.isInspection(context, event),
    isInspectFailure: ({ context, event }, params: { agent: boolean }) =>
      guards.isInspectFailure(context, event, params),
    inspectionIs: ({ context, event }, params: { outcome: guards.InspectionOutcome }) =>
      guards.inspectionIs(context, event, params),
    isDestroyReport: ({ context, event }) => guards.isDestroyReport(context, event),
    completesDestroy: ({ context, event }) => guards.completesDestroy(context, event),
    isExitReport: ({ context, event }) => guards.isExitReport(context, event),
    lastKernelExited: ({ context, event }) => guards.lastKernelExited(context, event),
    holdsKernelsOn: ({ context, event }) => guards.holdsKernelsOn(context, event),
    agentLossCompletesDestroy: ({ context, event }) =>
      guards.agentLossCompletesDestroy(context, event),
    statusIn: ({ context, event }, params: { statuses: readonly Status[] }) =>
      guards.statusIn(context, event, params),
    terminatesKernels: ({ context }) => guards.terminatesKernels(context),
    deadlinePassed: ({ context, event }) => guards.deadlinePassed(context, event),
  },
  delays,
});
