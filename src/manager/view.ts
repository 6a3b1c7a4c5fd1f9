/** Builds the `SessionView` that `get(id)` returns from a stored row. */
import type { SessionContext } from '../core/context.js';
import { contextOf, type Snapshot } from './core-bridge.js';
import type { HistoryRow, SessionRow } from './ports.js';
import type { SessionView } from './types.js';

export function sessionView(
  row: SessionRow,
  history: HistoryRow[],
  snapshot: Snapshot,
): SessionView {
  const context = contextOf(snapshot);
  return {
    id: row.id,
    owner: row.owner,
    status: row.status,
    substate: row.substate,
    attempts: { ...context.attempts },
    reschedules: context.reschedules,
    placement: placementOf(context),
    kernels: context.kernels.map(({ id, agentId, status, attempt }) => ({
      id,
      agentId,
      status,
      attempt,
    })),
    reason: context.reason,
    lastFailure: context.lastFailure,
    lastPlacementFailure: context.lastPlacementFailure,
    attemptHistory: [...context.history],
    history,
    version: row.version,
  };
}

function placementOf(context: SessionContext): Record<string, string> {
  const placement: Record<string, string> = {};
  for (const kernel of context.kernels) {
    if (kernel.agentId !== null) placement[kernel.id] = kernel.agentId;
  }
  return placement;
}
