/** The manager's resolved options and the per-round bookkeeping its stages share. */
import type { RetryPolicy } from '../policy/types.js';
import type { SnapshotCache } from './core-bridge.js';
import type { SelectorState } from './placement/types.js';
import type { AgentClient, Clock, Logger, RandomSource, SessionStore, StoreTx } from './ports.js';
import type {
  CommittedTransition,
  PickerName,
  PlacementLimits,
  SelectorName,
  TransitionNotice,
  TransitionObserver,
} from './types.js';

/** Options with every default filled in. */
export interface Runtime {
  store: SessionStore;
  agents: AgentClient;
  clock: Clock;
  policy: RetryPolicy;
  picker: PickerName;
  selector: SelectorName;
  limits: PlacementLimits;
  logger: Logger;
  random: RandomSource;
  batchSize: number;
  managerId: string;
  /** Restored snapshots by session and version. */
  snapshots: SnapshotCache;
  /** What the roundrobin selector remembers between batches. */
  selectorState: SelectorState;
  /** Whether placement may find something new (see `PlacementWatch`). */
  placement: PlacementWatch;
  /** Delivers committed notices to subscribers. */
  publish(notices: readonly TransitionNotice[]): void;
  /** The `inspect` hook (never throws); absent when inspection is off. */
  inspect?: TransitionObserver;
  /** Runs store work of this manager one transaction at a time (no self-inflicted conflicts). */
  serial<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Placement is retried only when something that can unblock a pending session happened in this
 * manager (a session became PENDING, one ended or started running, slots were released, an agent
 * came or went), or every `PLACEMENT_REFRESH_MS` for what other managers did.
 */
export class PlacementWatch {
  private dirty = true;
  private lastRunAt = Number.NEGATIVE_INFINITY;

  /** Something changed that may let a pending session be placed. */
  touch(): void {
    this.dirty = true;
  }

  /** Whether the schedule stage should run at `now`; if so, the change flag is taken. */
  shouldRun(now: number): boolean {
    if (!this.dirty && now - this.lastRunAt < PLACEMENT_REFRESH_MS) return false;
    this.dirty = false;
    this.lastRunAt = now;
    return true;
  }
}

/** Longest time the schedule stage skips a round when nothing changed locally, ms. */
export const PLACEMENT_REFRESH_MS = 30_000;

/** Statuses whose entry may unblock placement: new or returned sessions, ended or running ones. */
const UNBLOCKING: ReadonlySet<string> = new Set([
  'PENDING',
  'RUNNING',
  'TERMINATED',
  'CANCELLED',
  'ERROR',
]);

/** Whether a committed transition may let a pending session be placed. */
export function unblocksPlacement(notice: TransitionNotice): boolean {
  return UNBLOCKING.has(notice.to);
}

/**
 * Runs `items` a batch of `size` at a time, each batch prepared (`prepare`: the manager's own
 * work, agent calls included) while the one before is written (`write`: a store transaction).
 * Writes run one at a time, in order; the first that fails rejects the run.
 */
export async function pipelined<T, P>(
  items: readonly T[],
  size: number,
  prepare: (batch: T[]) => Promise<P>,
  write: (prepared: P) => Promise<void>,
): Promise<void> {
  let writing: Promise<void> = Promise.resolve();
  for (let start = 0; start < items.length; start += size) {
    const prepared = await prepare(items.slice(start, start + size));
    await writing;
    writing = write(prepared);
    // Awaited at the next batch or below; a rejection meanwhile is not an unhandled one.
    writing.catch(() => undefined);
  }
  await writing;
}

/** A mutex over promises: `run(work)` starts `work` after every earlier `run` has settled. */
export function serialQueue(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work, work);
    tail = result.catch(() => undefined);
    return result;
  };
}

/** Counts and notices gathered while a round runs; notices go out after each commit. */
export class Round {
  transitions = 0;
  timersFired = 0;
  dispatched = 0;
  errors = 0;
  /** Notices of the transaction in progress (published only when it commits). */
  pending: TransitionNotice[] = [];
  /** Transitions for the `inspect` hook (filled only when it is set), delivered on commit. */
  observed: CommittedTransition[] = [];

  constructor(readonly now: number) {}

  /** Runs `work` in one store transaction and publishes its notices after it commits. */
  async inTransaction<T>(runtime: Runtime, work: (tx: StoreTx) => Promise<T>): Promise<T> {
    this.pending = [];
    try {
      const result = await runtime.serial(() => runtime.store.transaction(work));
      runtime.publish(this.pending);
      for (const transition of this.observed) runtime.inspect?.(transition);
      return result;
    } catch (error) {
      // The rollback may have dropped versions the cache already holds.
      runtime.snapshots.clear();
      throw error;
    } finally {
      this.pending = [];
      this.observed = [];
    }
  }
}
