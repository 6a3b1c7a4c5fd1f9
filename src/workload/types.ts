/** What a replay feeds the manager: a fleet of agents and a stream of session submissions. */
import type { Slots } from '../core/types.js';
import type { SubmitSpec } from '../manager/types.js';

/** GPU fraction units in one whole GPU (`cuda.shares` per `cuda.device`). */
export const SHARES_PER_GPU = 1000;

/** One agent of the workload, registered with the manager before the first arrival. */
export interface WorkloadAgent {
  id: string;
  capacity: Slots;
  /** Free-form labels, e.g. `{ model: 'V100M32' }` for an openb node. */
  labels: Record<string, string>;
}

/** One session submission of the workload. */
export interface WorkloadSession {
  /** When the session is submitted, ms after the start of the replay. */
  arrivalMs: number;
  spec: SubmitSpec;
  /**
   * How long the session ran in the source (ms), when the source says. A replay may use it to
   * terminate the session that long after it reached RUNNING.
   */
  lifetimeMs?: number;
}

/** A whole workload. Sessions are ordered by `arrivalMs` (ties keep their source order). */
export interface Workload {
  agents: WorkloadAgent[];
  sessions: WorkloadSession[];
}
