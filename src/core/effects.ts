import type { Reason, Slots, Status } from './types.js';

/**
 * What the chart asks the outside world to do: a closed union of plain JSON data.
 * `decide` returns them in order; the manager interprets them in one store transaction
 * (reserve, release, timers, notify) and through the outbox (agent calls).
 *
 * Every agent effect carries an idempotency `key` built from session, agent, stage and attempt,
 * so dispatching it twice cannot duplicate work on the agent.
 */

/** Add `slots` to the agent's reserved slots for this session (capacity-checked by the store). */
export interface ReserveEffect {
  type: 'reserve';
  sessionId: string;
  agentId: string;
  slots: Slots;
}
/** Return exactly what `reserve` took on that agent. */
export interface ReleaseEffect {
  type: 'release';
  sessionId: string;
  agentId: string;
  slots: Slots;
}
/** Ask an agent to make sure the image is present (pull if missing). Idempotent. */
export interface PullImagesEffect {
  type: 'pullImages';
  sessionId: string;
  agentId: string;
  image: string;
  kernelIds: string[];
  attempt: number;
  key: string;
}
/** Ask an agent to create kernels. Never emitted while kernels of an earlier attempt may exist. */
export interface CreateKernelsEffect {
  type: 'createKernels';
  sessionId: string;
  agentId: string;
  image: string;
  kernels: { kernelId: string; slots: Slots }[];
  attempt: number;
  key: string;
}
/** Ask an agent which of these kernels exist and in what state (answers KERNELS_INSPECTED). */
export interface InspectKernelsEffect {
  type: 'inspectKernels';
  sessionId: string;
  agentId: string;
  kernelIds: string[];
  attempt: number;
  key: string;
}
/** Ask an agent to destroy kernels (answers KERNEL_TERMINATED per kernel). Idempotent. */
export interface DestroyKernelsEffect {
  type: 'destroyKernels';
  sessionId: string;
  agentId: string;
  kernelIds: string[];
  attempt: number;
  key: string;
}
/** Persist a timer: at `dueAt` the manager sends `{ type: event, now }` to the session. */
export interface SetTimerEffect {
  type: 'setTimer';
  sessionId: string;
  timerId: string;
  event: string;
  dueAt: number;
}
/** Delete a timer set earlier (the state that armed it was left). */
export interface CancelTimerEffect {
  type: 'cancelTimer';
  sessionId: string;
  timerId: string;
}
/** The session's status or substate changed: a history row and a subscription notice. */
export interface NotifyEffect {
  type: 'notify';
  sessionId: string;
  from: Status;
  to: Status;
  /** Full state path below the status, e.g. `backoff`, `pulling.waiting`; empty at a leaf. */
  substate: string;
  at: number;
  reason?: Reason;
}

export type Effect =
  | ReserveEffect
  | ReleaseEffect
  | PullImagesEffect
  | CreateKernelsEffect
  | InspectKernelsEffect
  | DestroyKernelsEffect
  | SetTimerEffect
  | CancelTimerEffect
  | NotifyEffect;

export type EffectType = Effect['type'];

/** Effects that are calls to an agent, delivered through the outbox. */
export type AgentEffect =
  | PullImagesEffect
  | CreateKernelsEffect
  | InspectKernelsEffect
  | DestroyKernelsEffect;

export const AGENT_EFFECT_TYPES = [
  'pullImages',
  'createKernels',
  'inspectKernels',
  'destroyKernels',
] as const satisfies AgentEffect['type'][];
