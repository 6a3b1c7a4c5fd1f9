/**
 * Messages between a test process and a manager running in a child process (crash-worker.ts).
 * The test process owns virtual time and the simulated agents: every command carries the time,
 * every agent call of the child's manager is forwarded to the test process and answered there,
 * and agent reports travel the other way. The agents therefore outlive any manager process.
 */
import type { AgentEffect } from '../../src/core/effects.js';
import type { AgentCallResult, AgentReport, InspectResult } from '../../src/manager/ports.js';
import type { SubmitSpec, TickSummary } from '../../src/manager/types.js';

/** What the test asks the child's manager to do. */
export type WorkerCommand =
  | { kind: 'open'; url: string; managerId: string; seed: number; batchSize: number }
  | { kind: 'register'; agent: { id: string; capacity: Record<string, number> } }
  | { kind: 'submit'; spec: SubmitSpec }
  | { kind: 'terminate'; id: string }
  | { kind: 'recover' }
  | { kind: 'tick' };

/** Test process -> child. `now` is the virtual time the child's clock moves to first. */
export type ToWorker =
  | { type: 'command'; seq: number; now: number; command: WorkerCommand }
  | { type: 'report'; now: number; report: AgentReport }
  | { type: 'answer'; callId: number; result: AgentCallResult | InspectResult };

/** A command's failure as it crosses the process boundary. */
export interface WorkerError {
  name: string;
  code?: string;
  message: string;
}

/** Child -> test process. */
export type FromWorker =
  | { type: 'done'; seq: number; value?: TickSummary | string }
  | { type: 'failed'; seq: number; error: WorkerError }
  | { type: 'call'; callId: number; effect: AgentEffect }
  | { type: 'log'; level: 'warn' | 'error'; message: string; fields: object };
