/**
 * Turns a trace step (test/arbitraries.ts) into a concrete event by looking at the snapshot it
 * will be applied to: progress and failure steps become events the session can take now (the
 * right attempt numbers, agent ids and kernel ids); noise steps become late, duplicated,
 * other-attempt, unknown-agent, stray timer or `xstate.error.actor.*` events.
 */
import type { SessionContext } from '../../src/core/context.js';
import type { SessionEvent } from '../../src/core/events.js';
import type { Status } from '../../src/core/types.js';
import { AGENT_IDS, type TraceStep } from '../arbitraries.js';

/** The parts of a snapshot a trace looks at. */
export interface SessionView {
  value: unknown;
  context: SessionContext;
}

/** An event a trace may send: the chart's events plus a stray actor error. */
export type TraceEvent = SessionEvent | { type: `xstate.error.actor.${string}`; error: unknown };

/** What the trace runner knows besides the snapshot: the clock, armed timers, past events. */
export interface TraceWorld {
  now: number;
  /** Armed timers by timer id, as setTimer / cancelTimer effects left them. */
  timers: Map<string, { event: string; dueAt: number }>;
  sent: TraceEvent[];
  /** Every `xstate.after.*` event type the chart declares. */
  timerEventTypes: readonly string[];
}

/** The state path of a snapshot value, from the status down to the leaf. */
export function pathOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  const [key, inner] = Object.entries(value as object)[0]!;
  return [key, ...pathOf(inner)];
}

/** The top-level state (the status) of a snapshot value. */
export function statusOf(value: unknown): Status {
  return pathOf(value)[0] as Status;
}

/** The state path below the status, dot-separated ('' at a top-level leaf). */
export function substateOf(value: unknown): string {
  return pathOf(value).slice(1).join('.');
}

function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

/** Agents the session's kernels are placed on, in kernel order, without repeats. */
export function placedAgents(context: SessionContext): string[] {
  const agents = context.kernels.map((kernel) => kernel.agentId).filter((id) => id !== null);
  return [...new Set(agents)];
}

function placement(context: SessionContext, choice: number): Record<string, string> {
  const out: Record<string, string> = {};
  context.kernels.forEach((kernel, index) => {
    out[kernel.id] = AGENT_IDS[Math.floor(choice / 4 ** index) % AGENT_IDS.length]!;
  });
  return out;
}

function pullEvents(context: SessionContext, now: number): SessionEvent[] {
  const attempt = context.attempts.pull;
  const waiting = context.kernels.filter((kernel) => kernel.status !== 'PREPARED');
  const agents = [...new Set(waiting.map((kernel) => kernel.agentId!))];
  return agents.flatMap((agentId): SessionEvent[] => [
    { type: 'IMAGE_PULLING', now, agentId, attempt },
    { type: 'IMAGE_PULLED', now, agentId, attempt },
    { type: 'IMAGE_PULLED', now, agentId, attempt },
  ]);
}

function createEvents(context: SessionContext, now: number): SessionEvent[] {
  const attempt = context.attempts.create;
  const waiting = context.kernels.filter((kernel) => kernel.status !== 'RUNNING');
  return waiting.flatMap((kernel): SessionEvent[] => {
    const report = { now, agentId: kernel.agentId!, kernelId: kernel.id, attempt };
    return [
      { type: 'KERNEL_CREATING', ...report },
      { type: 'KERNEL_STARTED', ...report },
      { type: 'KERNEL_STARTED', ...report },
    ];
  });
}

function inspectEvents(context: SessionContext, step: TraceStep, now: number): SessionEvent[] {
  const attempt = context.attempts.create;
  return placedAgents(context).map((agentId) => {
    const kernels: Record<string, 'creating' | 'running' | 'absent'> = {};
    context.kernels.forEach((kernel, index) => {
      if (kernel.agentId === agentId) kernels[kernel.id] = step.inspected[index % 4]!;
    });
    return { type: 'KERNELS_INSPECTED', now, agentId, attempt, kernels };
  });
}

function terminatedEvents(context: SessionContext, step: TraceStep, now: number): SessionEvent[] {
  const live = context.kernels.filter(
    (kernel) =>
      kernel.agentId !== null && kernel.status !== 'TERMINATED' && kernel.status !== 'CANCELLED',
  );
  return live.map((kernel): SessionEvent => {
    const report = { now, agentId: kernel.agentId!, kernelId: kernel.id, outcome: step.outcome };
    // agents that know the kernel's create attempt say so; some reports leave it out
    const known = kernel.attempt > 0 && step.pick % 4 !== 0;
    return known
      ? { type: 'KERNEL_TERMINATED', ...report, attempt: kernel.attempt }
      : { type: 'KERNEL_TERMINATED', ...report };
  });
}

function progressEvents(view: SessionView, step: TraceStep, now: number): SessionEvent[] {
  const { context } = view;
  const substate = substateOf(view.value);
  switch (statusOf(view.value)) {
    case 'PENDING':
      return [{ type: 'SCHEDULE', now, placement: placement(context, step.pick) }];
    case 'SCHEDULED':
      return [{ type: 'PREPARE', now }];
    case 'PREPARING':
      return substate.startsWith('backoff') ? [] : pullEvents(context, now);
    case 'PREPARED':
      return [{ type: 'START', now }];
    case 'CREATING':
      if (substate.startsWith('verifying')) return inspectEvents(context, step, now);
      if (substate.startsWith('cleanup')) return terminatedEvents(context, step, now);
      return substate.startsWith('backoff') ? [] : createEvents(context, now);
    case 'RUNNING':
      return [...terminatedEvents(context, step, now), { type: 'TERMINATE', now }];
    case 'TERMINATING':
      return terminatedEvents(context, step, now);
    default:
      return [];
  }
}

function failureEvents(view: SessionView, step: TraceStep, now: number): SessionEvent[] {
  const { context } = view;
  const agents = placedAgents(context);
  const substate = substateOf(view.value);
  const failure = step.failure;
  switch (statusOf(view.value)) {
    case 'PENDING':
      return [{ type: 'PLACEMENT_FAILED', now, predicate: 'capacity', message: 'no agent fits' }];
    case 'PREPARING': {
      const attempt = context.attempts.pull;
      return agents.map((agentId) => ({ type: 'PULL_FAILED', now, agentId, attempt, failure }));
    }
    case 'CREATING': {
      const attempt = context.attempts.create;
      const type = substate.startsWith('verifying') ? 'INSPECT_FAILED' : 'CREATE_FAILED';
      return agents.map((agentId) => ({ type, now, agentId, attempt, failure }));
    }
    case 'RUNNING':
      return agents.map((agentId) => ({ type: 'AGENT_LOST', now, agentId }));
    default:
      return [];
  }
}

/** The earliest armed timer (ties broken by `choice`), delivered at its due time. */
function armedTimer(world: TraceWorld, choice: number): TraceEvent | undefined {
  const armed = [...world.timers.values()].sort((a, b) => a.dueAt - b.dueAt);
  const first = armed[0];
  if (!first) return undefined;
  const due = armed.filter((timer) => timer.dueAt === first.dueAt);
  const timer = pick(due, choice)!;
  world.now = Math.max(world.now, timer.dueAt);
  return { type: timer.event as `xstate.after.${string}`, now: world.now };
}

function withAttempt(event: TraceEvent, attempt: number): TraceEvent {
  return 'attempt' in event ? { ...event, attempt } : event;
}

function noiseEvent(view: SessionView, step: TraceStep, world: TraceWorld): TraceEvent | undefined {
  const now = world.now;
  const sample = pick(
    [...progressEvents(view, step, now), ...failureEvents(view, step, now)],
    step.pick,
  );
  switch (step.kind) {
    case 'late': {
      const earlier = pick(world.sent, step.pick);
      return earlier && ({ ...earlier, now } as TraceEvent);
    }
    case 'duplicate': {
      const last = world.sent[world.sent.length - 1];
      return last && ({ ...last, now } as TraceEvent);
    }
    case 'other-attempt': {
      const attempt = (sample as { attempt?: number } | undefined)?.attempt;
      if (!sample || attempt === undefined) return undefined;
      const offsets = [1, -1, 2, -attempt, 99];
      return withAttempt(sample, Math.max(0, attempt + pick(offsets, step.pick)!));
    }
    case 'unknown-agent':
      return sample && 'agentId' in sample ? { ...sample, agentId: 'ghost' } : undefined;
    case 'unknown-kernel':
      return sample && 'kernelId' in sample ? { ...sample, kernelId: 'k9' } : undefined;
    case 'stray-timer': {
      const armed = new Set([...world.timers.values()].map((timer) => timer.event));
      const stray = world.timerEventTypes.filter((type) => !armed.has(type));
      const type = pick(stray, step.pick);
      return type === undefined ? undefined : { type: type as `xstate.after.${string}`, now };
    }
    case 'error-actor':
      return { type: 'xstate.error.actor.x', error: new Error('stray actor error') };
    case 'verify':
      return { type: 'VERIFY', now };
    case 'cancel':
      return step.pick % 2 === 0
        ? { type: 'CANCEL', now }
        : { type: 'CANCEL', now, reason: 'user-cancelled', message: 'by operator' };
    case 'terminate':
      return { type: 'TERMINATE', now };
    default:
      return undefined;
  }
}

/**
 * The event a step stands for in the current situation, or undefined when the step has nothing
 * to say here (the runner skips it). Advances `world.now` (monotonic).
 */
export function eventFor(
  view: SessionView,
  step: TraceStep,
  world: TraceWorld,
): TraceEvent | undefined {
  world.now += step.advanceMs;
  const now = world.now;
  if (step.kind === 'progress') {
    return pick(progressEvents(view, step, now), step.pick) ?? armedTimer(world, step.pick);
  }
  if (step.kind === 'failure') return pick(failureEvents(view, step, now), step.pick);
  if (step.kind === 'timer') return armedTimer(world, step.pick);
  return noiseEvent(view, step, world);
}
