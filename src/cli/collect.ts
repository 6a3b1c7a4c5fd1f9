/** Gathers a run's measurements from the manager, the store and the fleet after the loop. */
import type { SessionStore } from '../manager/ports.js';
import type { SessionManager, SessionView } from '../manager/types.js';
import type { ReplayFleet } from './fleet.js';
import { attemptDistribution, findLeaks, findOrphans, latencyOf, outcomesOf } from './metrics.js';
import type { LoopOutcome } from './replay.js';
import type { PolicyChoice, RunResult } from './result.js';

/** The loop's outcome plus the wall-clock time it took. */
export interface RunContext extends LoopOutcome {
  wallMs: number;
}

/** Builds the run's result from the end state. */
export async function collectResult(
  policy: PolicyChoice,
  context: RunContext,
  store: SessionStore,
  fleet: ReplayFleet,
  manager: SessionManager,
): Promise<RunResult> {
  const { tracker } = context;
  const views = await viewsOf(manager, [...tracker.submittedAt.keys()]);
  const leaks = await store.transaction(async (tx) => {
    const ids = [...(await tx.statuses()).keys()];
    return findLeaks(await tx.agents(), await tx.getSessions(ids));
  });
  const durations = [...tracker.runningAt].map(([id, at]) => at - tracker.submittedAt.get(id)!);
  const sessions = tracker.submittedAt.size + tracker.rejected.length;
  return {
    policy,
    sessions,
    rejected: tracker.rejected,
    reachedRunning: tracker.runningAt.size,
    outcomes: outcomesOf([...views.values()]),
    attempts: attemptDistribution([...views.values()]),
    timeToRunning: latencyOf(durations),
    leaks,
    orphans: findOrphans(fleet.liveKernels(), views),
    stop: context.stop,
    virtualMs: context.virtualMs,
    ticks: context.ticks,
    wallMs: Math.round(context.wallMs),
    sessionsPerSec: context.wallMs > 0 ? (sessions * 1000) / context.wallMs : 0,
  };
}

async function viewsOf(manager: SessionManager, ids: string[]) {
  const views = new Map<string, SessionView>();
  for (const id of ids) {
    const view = await manager.get(id);
    if (view) views.set(id, view);
  }
  return views;
}
