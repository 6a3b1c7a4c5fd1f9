/**
 * The replay driver: runs a workload through a manager on virtual time. The clock jumps from
 * one due thing to the next (an arrival, an agent report, a store timer or outbox row, a
 * session's end of life), and ticks every `tickMs` while sessions are still moving.
 */
import { performance } from 'node:perf_hooks';
import { MemoryStore } from '../adapters/store/memory.js';
import { ManualClock } from '../manager/clock.js';
import { createSessionManager } from '../manager/manager.js';
import type { Logger, SessionStore } from '../manager/ports.js';
import type {
  PickerName,
  SelectorName,
  SessionManager,
  TransitionObserver,
} from '../manager/types.js';
import { defaultPolicy, seedPolicy } from '../policy/defaults.js';
import { seededRandom } from '../policy/random.js';
import type { Workload } from '../workload/types.js';
import { collectResult } from './collect.js';
import type { ReplayFleet } from './fleet.js';
import type { PolicyChoice, RunResult } from './result.js';
import { Tracker } from './tracker.js';

/** Epoch ms the virtual clock starts at (2023-06-01, near the trace's publication). */
export const REPLAY_EPOCH = Date.UTC(2023, 5, 1);

/** Options of one run. */
export interface RunOptions {
  workload: Workload;
  policy: PolicyChoice;
  seed: number;
  /** Builds the fleet on the run's clock. */
  makeFleet: (clock: ManualClock, seed: number) => ReplayFleet;
  /**
   * Default: a fresh `MemoryStore` that shares rows instead of copying them (the manager never
   * mutates a row it read or wrote; a test compares both modes).
   */
  makeStore?: () => SessionStore | Promise<SessionStore>;
  picker?: PickerName;
  selector?: SelectorName;
  logger?: Logger;
  /** Virtual ms between rounds while sessions move. Default 1000. */
  tickMs?: number;
  /** Virtual ms allowed after the last arrival. Default 30 days. */
  horizonMs?: number;
  /** Terminate each session its `lifetimeMs` after it reaches RUNNING. Default false. */
  lifetimes?: boolean;
  /** Called after every round with sessions settled (RUNNING or final) and submitted. */
  onProgress?: (settled: number, total: number) => void;
  /** The manager's `inspect` hook (see `session-lifecycle/inspect`). Default: none. */
  inspect?: TransitionObserver;
  /** Called once the run settled, before the store closes (to read sessions back). */
  onDone?: (manager: SessionManager) => Promise<void>;
}

const DAY_MS = 86_400_000;

/** Runs the workload once with one policy and measures what happened. */
export async function runReplay(options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const clock = new ManualClock(REPLAY_EPOCH + (options.workload.sessions[0]?.arrivalMs ?? 0));
  const store = await (options.makeStore?.() ?? new MemoryStore({ copyRows: false }));
  const fleet = options.makeFleet(clock, options.seed);
  const manager = createSessionManager({
    store,
    agents: fleet,
    clock,
    policy: options.policy === 'seed' ? seedPolicy : defaultPolicy,
    picker: options.picker ?? 'fifo',
    selector: options.selector ?? 'concentrated',
    random: seededRandom(options.seed),
    managerId: 'replay',
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  try {
    await registerAgents(manager, fleet, options.workload);
    const loop = await driveLoop(options, clock, store, fleet, manager);
    const wallMs = performance.now() - started;
    const result = await collectResult(options.policy, { ...loop, wallMs }, store, fleet, manager);
    await options.onDone?.(manager);
    return result;
  } finally {
    await manager.stop();
    await store.close();
  }
}

async function registerAgents(manager: SessionManager, fleet: ReplayFleet, workload: Workload) {
  for (const agent of workload.agents) {
    fleet.addAgent(agent);
    await manager.registerAgent({
      id: agent.id,
      capacity: agent.capacity,
      schedulable: true,
      labels: agent.labels,
    });
  }
}

/** What the loop hands to the measurements. */
export interface LoopOutcome {
  tracker: Tracker;
  ticks: number;
  stop: RunResult['stop'];
  virtualMs: number;
}

async function driveLoop(
  options: RunOptions,
  clock: ManualClock,
  store: SessionStore,
  fleet: ReplayFleet,
  manager: SessionManager,
): Promise<LoopOutcome> {
  const { sessions } = options.workload;
  const tickMs = options.tickMs ?? 1000;
  const firstAt = clock.now();
  const lastArrival = REPLAY_EPOCH + (sessions.at(-1)?.arrivalMs ?? 0);
  const cutoff = lastArrival + (options.horizonMs ?? 30 * DAY_MS);
  const tracker = new Tracker(manager, options.workload, options.lifetimes === true);
  let ticks = 0;
  for (;;) {
    const now = clock.now();
    await tracker.submitDue(REPLAY_EPOCH, now);
    await tracker.terminateDue(now);
    fleet.deliverDue(now);
    const round = await manager.tick();
    ticks += 1;
    options.onProgress?.(tracker.settled(), sessions.length);
    // Tick again after `tickMs` only while the manager's own stages moved something; sessions
    // waiting on agents or timers are woken by those, and a session no agent can take must not
    // keep the clock crawling until the cutoff.
    const busy = round.transitions + round.dispatched + round.timersFired > 0;
    const next = await nextTime(now, busy ? now + tickMs : undefined);
    if (next === undefined) return { tracker, ticks, stop: 'settled', virtualMs: now - firstAt };
    if (next > cutoff) {
      return { tracker, ticks, stop: 'max-virtual-time', virtualMs: now - firstAt };
    }
    clock.set(next);
  }

  async function nextTime(now: number, tickAt: number | undefined): Promise<number | undefined> {
    const due = await store.transaction((tx) => tx.nextDue());
    const candidates = [
      tracker.nextArrival(REPLAY_EPOCH),
      tracker.nextTermination(),
      fleet.nextDueAt(),
      due.timer,
      due.outbox,
      tickAt,
    ].filter((at): at is number => at !== undefined);
    if (candidates.length === 0) return undefined;
    // Never stand still: something due now is handled at the next millisecond.
    return Math.max(Math.min(...candidates), now + 1);
  }
}
