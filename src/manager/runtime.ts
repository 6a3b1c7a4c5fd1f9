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
  /** Whether this manager has written since a round looked for work (see `WriteWatch`). */
  writes: WriteWatch;
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

/**
 * Counts this manager's session writes, so a round can tell whether what it read at its start
 * (`StoreTx.workDue`) still holds: a write may have given a later stage work (a session made
 * PREPARED, an outbox row due now). Every write counts, committed or not; a rolled-back one
 * only costs a stage its skip.
 */
export class WriteWatch {
  private count = 0;

  wrote(): void {
    this.count += 1;
  }

  /** A mark to compare with later (`since`). */
  mark(): number {
    return this.count;
  }

  /** Whether anything was written since `mark`. */
  since(mark: number): boolean {
    return this.count !== mark;
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
 * Runs `batch(0)`, `batch(1)`, ... with up to `depth` of them in flight at once, until one
 * comes back false (no more work) or `limit` have started; the ones in flight then finish. So
 * the manager decides one batch while the store writes and commits another. The first
 * rejection stops new starts and rejects the run once the others have settled.
 */
export async function overlapped(
  limit: number,
  depth: number,
  batch: (index: number) => Promise<boolean>,
): Promise<void> {
  let started = 0;
  let stop = false;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!stop && started < limit) {
      const index = started;
      started += 1;
      try {
        if (!(await batch(index))) stop = true;
      } catch (error) {
        stop = true;
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: depth }, lane));
  if (failure) throw failure.error;
}

/** Batch transactions of one stage in flight at once (see `inTurns`). */
export const STAGE_DEPTH = 2;
/**
 * Batches per turn of the manager's transaction queue: after these, any other work of the
 * manager waiting for the store (a submit, a cancel, reports) goes first.
 */
export const BATCHES_PER_TURN = 8;

/**
 * Runs up to `limit` batch transactions of one stage, `STAGE_DEPTH` in flight at once, so the
 * manager decides one batch while the store writes and commits another. Only for batches that
 * cannot conflict with each other: disjoint sessions (claimed, or split by session), and no
 * placement (which reads free slots a batch in flight may be taking). Slots released by one
 * write are locked with its sessions in one ordered statement, so two batches wait for each
 * other there, never deadlock. Each batch gets a forked round (its notices go out when it
 * commits; its counts are added to `round`); the turns hold `runtime.serial`,
 * `BATCHES_PER_TURN` batches each, and a forked round's transactions run inside the turn.
 * Stops after a batch returns false.
 */
export async function inTurns(
  runtime: Runtime,
  round: Round,
  limit: number,
  batch: (forked: Round, index: number) => Promise<boolean>,
): Promise<void> {
  let more = true;
  for (let done = 0; more && done < limit; done += BATCHES_PER_TURN) {
    const turn = Math.min(BATCHES_PER_TURN, limit - done);
    more = false;
    await runtime.serial(() =>
      overlapped(turn, STAGE_DEPTH, async (index) => {
        const forked = round.fork();
        try {
          const full = await batch(forked, done + index);
          if (full && index === turn - 1) more = true;
          return full;
        } finally {
          round.merge(forked);
        }
      }),
    );
  }
}

/**
 * `items` in chunks of about `size`, each session's items together and in their order, so the
 * chunks can be written side by side (`inTurns`) without two of them touching one session. A
 * session with more than `size` items makes a longer chunk; `size` items or fewer make one.
 */
export function bySession<T>(items: T[], size: number, sessionOf: (item: T) => string): T[][] {
  if (items.length <= size) return [items];
  const sessions = new Map<string, T[]>();
  for (const item of items) {
    const id = sessionOf(item);
    const list = sessions.get(id);
    if (list) list.push(item);
    else sessions.set(id, [item]);
  }
  const chunks: T[][] = [];
  let chunk: T[] = [];
  for (const list of sessions.values()) {
    if (chunk.length > 0 && chunk.length + list.length > size) {
      chunks.push(chunk);
      chunk = [];
    }
    chunk.push(...list);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
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

  /**
   * `held`: the round is a fork of `inTurns`, whose turn holds `runtime.serial` already; its
   * transactions run without taking it again, beside the other batch of the turn.
   */
  constructor(
    readonly now: number,
    private readonly held = false,
  ) {}

  /** Runs `work` in one store transaction and publishes its notices after it commits. */
  inTransaction<T>(runtime: Runtime, work: (tx: StoreTx) => Promise<T>): Promise<T> {
    const transaction = () => runtime.store.transaction(work);
    return this.committed(runtime, this.held ? transaction : () => runtime.serial(transaction));
  }

  /** A round at the same time with counts and notices of its own, for one batch of a turn. */
  fork(): Round {
    return new Round(this.now, true);
  }

  /** Adds the counts of a forked round (its notices went out with its own commits). */
  merge(forked: Round): void {
    this.transitions += forked.transitions;
    this.timersFired += forked.timersFired;
    this.dispatched += forked.dispatched;
    this.errors += forked.errors;
  }

  private async committed<T>(runtime: Runtime, transaction: () => Promise<T>): Promise<T> {
    this.pending = [];
    try {
      const result = await transaction();
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
