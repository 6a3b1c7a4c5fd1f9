/**
 * End-state checks shared by the crash and multi-manager tests: read the database once, then
 * compare it with the workload and with the simulated agents the test process kept.
 */
import { restore } from '../../src/core/persist.js';
import { FINAL_STATUSES, type Status } from '../../src/core/types.js';
import type { HistoryRow, SessionRow, SessionStore } from '../../src/manager/ports.js';
import type { CrashFleet } from './crash-fleet.js';
import {
  kernelsAccountedFor,
  noAgentOverCapacity,
  placeableNow,
  readStore,
  reservationsMatchHolds,
  type StoreView,
} from './invariants.js';

const RESTING: readonly Status[] = ['RUNNING', ...FINAL_STATUSES];

/** Everything the checks read: the store view plus each session's history. */
export interface EndState {
  view: StoreView;
  history: Map<string, HistoryRow[]>;
}

export async function readEndState(store: SessionStore): Promise<EndState> {
  const view = await readStore(store);
  const history = new Map<string, HistoryRow[]>();
  await store.transaction(async (tx) => {
    for (const session of view.sessions) history.set(session.id, await tx.history(session.id));
  });
  return { view, history };
}

/**
 * Sessions neither RUNNING nor final, as `id status/substate`, but for PENDING sessions that no
 * schedulable agent has room for: those wait for capacity, as they should (most sessions of the
 * workload keep running and agents are lost, so on some seeds a large session never fits).
 */
export function notResting(state: EndState): string[] {
  const placeable = placeableNow(state.view);
  return unsettled(state, (session) => session.status !== 'PENDING' || placeable(session));
}

/** Sessions neither RUNNING nor final, as `id status/substate`, without exception. */
export function notRunningOrFinal(state: EndState): string[] {
  return unsettled(state, () => true);
}

function unsettled(state: EndState, counts: (session: SessionRow) => boolean): string[] {
  return state.view.sessions
    .filter((session) => !RESTING.includes(session.status) && counts(session))
    .map((session) => `${session.id} ${session.status}/${session.substate}`);
}

/** Count of sessions per status. */
export function statusCounts(state: EndState): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const session of state.view.sessions) {
    counts[session.status] = (counts[session.status] ?? 0) + 1;
  }
  return counts;
}

/**
 * Placements per session against its reschedules: a session is placed (enters SCHEDULED) once
 * per placement, so the count is `reschedules` or `reschedules + 1`, and two SCHEDULED entries
 * always have a return to PENDING between them. Returns the sessions that break this.
 */
export function placedTwice(state: EndState): string[] {
  const problems: string[] = [];
  for (const session of state.view.sessions) {
    const rows = state.history.get(session.id) ?? [];
    const { reschedules } = restore(session.snapshot).context;
    const scheduled = rows.filter((row) => row.to === 'SCHEDULED' && row.from !== 'SCHEDULED');
    if (scheduled.length > reschedules + 1 || scheduled.length < reschedules) {
      problems.push(`${session.id} placed ${scheduled.length} times, ${reschedules} reschedules`);
    }
    let placedSincePending = false;
    for (const row of rows) {
      if (row.from === row.to) continue;
      if (row.to === 'PENDING') placedSincePending = false;
      if (row.to !== 'SCHEDULED') continue;
      if (placedSincePending) problems.push(`${session.id} placed again without a reschedule`);
      placedSincePending = true;
    }
  }
  return problems;
}

/** SCHEDULED entries over all sessions (placements made). */
export function placements(state: EndState): number {
  let count = 0;
  for (const rows of state.history.values()) {
    count += rows.filter((row) => row.to === 'SCHEDULED' && row.from !== 'SCHEDULED').length;
  }
  return count;
}

/** Store invariants and kernel ownership against the fleet the test kept. */
export function invariantProblems(state: EndState, fleet: CrashFleet) {
  return {
    reservations: reservationsMatchHolds(state.view),
    capacity: noAgentOverCapacity(state.view),
    orphans: kernelsAccountedFor(state.view, fleet.agents.liveKernels(), fleet.recorder),
    createdTwice: fleet.createdTwice(),
  };
}

/** RUNNING sessions whose kernels are not all running on the agents they are bound to. */
export function runningWithoutKernels(state: EndState, fleet: CrashFleet): string[] {
  const live = new Set(
    fleet.agents
      .liveKernels()
      .filter((kernel) => kernel.state === 'running')
      .map((kernel) => `${kernel.agentId}/${kernel.sessionId}/${kernel.kernelId}`),
  );
  return state.view.sessions
    .filter((session) => session.status === 'RUNNING')
    .flatMap((session) =>
      restore(session.snapshot)
        .context.kernels.filter(
          (kernel) => !live.has(`${kernel.agentId}/${session.id}/${kernel.id}`),
        )
        .map((kernel) => `${session.id}/${kernel.id} on ${kernel.agentId}`),
    );
}
