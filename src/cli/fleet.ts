/** What the replay needs from a simulated agent fleet, beyond the `AgentClient` calls. */
import type { AgentClient } from '../manager/ports.js';
import type { WorkloadAgent } from '../workload/types.js';
import type { LiveKernel } from './metrics.js';

/**
 * An in-process fleet driven by virtual time: reports become due at simulated times and are
 * handed to the manager when the replay delivers them.
 */
export interface ReplayFleet extends AgentClient {
  addAgent(agent: WorkloadAgent): void;
  /** Sends every report due at or before `now` to the report listener; how many it sent. */
  deliverDue(now: number): number;
  /** The earliest time a report becomes due, or undefined when none is waiting. */
  nextDueAt(): number | undefined;
  /** Kernels that exist on the agents now. */
  liveKernels(): LiveKernel[];
}
