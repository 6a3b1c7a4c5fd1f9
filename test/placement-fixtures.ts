/** Builders for placement tests: agents, pending sessions, views, and compact result summaries. */
import type { Slots, Status } from '../src/core/types.js';
import {
  isPlaced,
  type PendingSession,
  type PlacementResult,
  type PlacementView,
} from '../src/manager/placement/types.js';
import type { AgentRow } from '../src/manager/ports.js';
import type { PlacementLimits } from '../src/manager/types.js';

export function agent(
  id: string,
  capacity: Slots,
  reserved: Slots = {},
  schedulable = true,
): AgentRow {
  return { id, capacity, reserved, schedulable };
}

interface SessionOptions {
  owner?: string;
  priority?: number;
  submittedAt?: number;
  /** One entry per kernel (default: one kernel of cpu=1000). */
  kernels?: Slots[];
  dependsOn?: string[];
  avoid?: Record<string, number>;
}

export function session(id: string, options: SessionOptions = {}): PendingSession {
  const kernels = options.kernels ?? [{ cpu: 1000 }];
  return {
    id,
    owner: options.owner ?? 'alice',
    priority: options.priority ?? 0,
    submittedAt: options.submittedAt ?? 0,
    kernels: kernels.map((slots, i) => ({ id: `k${i}`, slots })),
    dependsOn: options.dependsOn ?? [],
    avoid: options.avoid ?? {},
  };
}

interface ViewOptions {
  ownerUsage?: Record<string, { sessions: number; slots: Slots }>;
  statusOf?: Record<string, Status>;
  limits?: PlacementLimits;
}

export function view(agents: AgentRow[], options: ViewOptions = {}): PlacementView {
  return {
    agents,
    ownerUsage: new Map(Object.entries(options.ownerUsage ?? {})),
    statusOf: new Map(Object.entries(options.statusOf ?? {})),
    limits: options.limits ?? {},
  };
}

/** `s1 k0@a1 k1@a2` for a placement, `s2 capacity` for a session left pending. */
export function summary(results: PlacementResult[]): string[] {
  return results.map((result) =>
    isPlaced(result)
      ? [result.sessionId, ...Object.entries(result.placement).map(([k, a]) => `${k}@${a}`)].join(
          ' ',
        )
      : `${result.sessionId} ${result.predicate}`,
  );
}

/** Kernel placements in picking order, as `session:agent` for single-kernel sessions. */
export function targets(results: PlacementResult[]): string[] {
  return results.map((result) =>
    isPlaced(result)
      ? `${result.sessionId}:${Object.values(result.placement).join('+')}`
      : `${result.sessionId}:-`,
  );
}
