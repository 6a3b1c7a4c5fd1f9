import type { Failure, Reason } from './types.js';

/**
 * Events the session chart accepts. Every event carries `now` (epoch ms, from the manager's
 * clock): the chart never reads time itself. Events that report on an agent call carry the
 * `attempt` they answer; an event for another attempt than the current one is ignored.
 */

/** Placement chose an agent for every kernel (kernel id -> agent id). PENDING -> SCHEDULED. */
export interface ScheduleEvent {
  type: 'SCHEDULE';
  now: number;
  placement: Record<string, string>;
}
/** Placement could not place the session this round; recorded, the session stays PENDING. */
export interface PlacementFailedEvent {
  type: 'PLACEMENT_FAILED';
  now: number;
  predicate: string;
  message: string;
}
/** The prepare stage picked the session up. SCHEDULED -> PREPARING. */
export interface PrepareEvent {
  type: 'PREPARE';
  now: number;
}
/** The agent started pulling the image for this session's kernels on it. */
export interface ImagePullingEvent {
  type: 'IMAGE_PULLING';
  now: number;
  agentId: string;
  attempt: number;
}
/** The image is present on the agent (pulled now, or already there). */
export interface ImagePulledEvent {
  type: 'IMAGE_PULLED';
  now: number;
  agentId: string;
  attempt: number;
}
/** The pull request failed on an agent. */
export interface PullFailedEvent {
  type: 'PULL_FAILED';
  now: number;
  agentId: string;
  attempt: number;
  failure: Failure;
}
/** The start stage picked the session up. PREPARED -> CREATING. */
export interface StartEvent {
  type: 'START';
  now: number;
}
/** The agent reports a kernel being created. */
export interface KernelCreatingEvent {
  type: 'KERNEL_CREATING';
  now: number;
  agentId: string;
  kernelId: string;
  attempt: number;
}
/** The agent reports a kernel running. */
export interface KernelStartedEvent {
  type: 'KERNEL_STARTED';
  now: number;
  agentId: string;
  kernelId: string;
  attempt: number;
}
/** The createKernels request failed on an agent. `ambiguous` means kernels may exist. */
export interface CreateFailedEvent {
  type: 'CREATE_FAILED';
  now: number;
  agentId: string;
  attempt: number;
  failure: Failure;
}
/** What `inspectKernels` found on an agent, per kernel id of the inspected attempt. */
export interface KernelsInspectedEvent {
  type: 'KERNELS_INSPECTED';
  now: number;
  agentId: string;
  attempt: number;
  kernels: Record<string, 'creating' | 'running' | 'absent'>;
}
/** The inspectKernels request itself failed. */
export interface InspectFailedEvent {
  type: 'INSPECT_FAILED';
  now: number;
  agentId: string;
  attempt: number;
  failure: Failure;
}
/** The agent reports kernels gone (destroyed, exited, or the agent was lost with them). */
export interface KernelTerminatedEvent {
  type: 'KERNEL_TERMINATED';
  now: number;
  agentId: string;
  kernelId: string;
  /** `CANCELLED` when the kernel never ran to completion. */
  outcome: 'TERMINATED' | 'CANCELLED';
  /** The create attempt of the kernel that ended, when the agent knows it; a report for
   * another attempt than the kernel's current one is ignored. */
  attempt?: number;
}
/** The agent was lost (heartbeat gone): every kernel on it is gone. */
export interface AgentLostEvent {
  type: 'AGENT_LOST';
  now: number;
  agentId: string;
}
/** The user (or an operator) cancels the session. Accepted in every non-final state. */
export interface CancelEvent {
  type: 'CANCEL';
  now: number;
  reason?: Reason;
  message?: string;
}
/** The user asks to terminate the session. Accepted in every non-final state. */
export interface TerminateEvent {
  type: 'TERMINATE';
  now: number;
}
/** The manager asks a CREATING session to verify its kernels on the agents (recovery). */
export interface VerifyEvent {
  type: 'VERIFY';
  now: number;
}
/** A timer row came due: the delayed event the chart raised, re-delivered by the manager. */
export interface TimerEvent {
  /** The delayed event's type, `xstate.after.<delay>.<state id>`. */
  type: `xstate.after.${string}`;
  now: number;
}

export type SessionEvent =
  | ScheduleEvent
  | PlacementFailedEvent
  | PrepareEvent
  | ImagePullingEvent
  | ImagePulledEvent
  | PullFailedEvent
  | StartEvent
  | KernelCreatingEvent
  | KernelStartedEvent
  | CreateFailedEvent
  | KernelsInspectedEvent
  | InspectFailedEvent
  | KernelTerminatedEvent
  | AgentLostEvent
  | CancelEvent
  | TerminateEvent
  | VerifyEvent
  | TimerEvent;

/** Event type names, derived from the union so the list cannot drift. */
export type SessionEventType = SessionEvent['type'];
