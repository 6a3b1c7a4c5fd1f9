/**
 * The interfaces the manager declares and the adapters implement. Dependencies point inwards:
 * `adapters/` import these; the manager never imports an adapter.
 */
import type { AgentEffect, Effect } from '../core/effects.js';
import type { Failure, Slots, Status } from '../core/types.js';

// ---------------------------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------------------------

/** An agent as the store keeps it: capacity, what is reserved on it, whether it takes work. */
export interface AgentRow {
  id: string;
  capacity: Slots;
  /** Sum of the reservations of live sessions on this agent. Maintained by `apply`. */
  reserved: Slots;
  schedulable: boolean;
  /** Free-form labels (GPU model, ...), not used by the core. */
  labels?: Record<string, string>;
}

/** One session row. `snapshot` is the chart's persisted snapshot (opaque JSON to the store). */
export interface SessionRow {
  id: string;
  owner: string;
  priority: number;
  status: Status;
  /** State path below the status, '' at a leaf (e.g. `backoff`, `pulling.waiting`). */
  substate: string;
  /** Optimistic concurrency: incremented by every successful `apply`. Starts at 1. */
  version: number;
  submittedAt: number;
  updatedAt: number;
  /** What the session holds now, agent id -> slots (mirrors the chart's `holds`). */
  holds: Record<string, Slots>;
  snapshot: unknown;
}

/** A position in claim order: the session claimed last. */
export interface ClaimCursor {
  submittedAt: number;
  id: string;
}

/** The columns of a session row that say where it is, without its snapshot. */
export type SessionHead = Pick<SessionRow, 'version' | 'status' | 'substate'>;

/** A status-history row (one per status or substate change). */
export interface HistoryRow {
  sessionId: string;
  at: number;
  from: Status;
  to: Status;
  substate: string;
  reason?: string;
}

/** An agent call waiting to be dispatched (or re-dispatched after a crash). */
export interface OutboxRow {
  /** Unique: the effect's idempotency key. Inserting an existing key is a no-op. */
  key: string;
  sessionId: string;
  agentId: string;
  effect: AgentEffect;
  /** Earliest time to (re)try dispatching, epoch ms. */
  dueAt: number;
  /** Dispatch tries so far (for transient dispatch failures of destroy / inspect). */
  tries: number;
  /**
   * Version of the session row written with this call. While the session is still at that
   * version, the call is the one its session wants: the dispatcher sends it without reading
   * the snapshot. Absent on rows stored by older releases (they are checked in full).
   */
  sessionVersion?: number;
}

/** A timer row: at `dueAt` the manager sends `{ type: event, now }` to the session. */
export interface TimerRow {
  sessionId: string;
  timerId: string;
  event: string;
  dueAt: number;
}

/** Everything one transition writes. `apply` writes all of it or none of it. */
export interface TransitionWrite {
  /** The next row; `version` must be `expectedVersion + 1`. */
  session: SessionRow;
  /** 0 inserts a new session; otherwise the version read before deciding. */
  expectedVersion: number;
  reserve: { agentId: string; slots: Slots }[];
  release: { agentId: string; slots: Slots }[];
  history: HistoryRow[];
  outbox: OutboxRow[];
  timersSet: TimerRow[];
  /** Timer ids of this session to delete. */
  timersCancelled: string[];
}

/**
 * Why `apply` refused a write. Nothing of a refused write is kept. A store checks, in order:
 * - `version`: the session is not at `expectedVersion` (0 for an insert: it must not exist);
 *   `actual` is its version, undefined when it does not exist;
 * - then, for each reservation in write order, after the write's releases (a release is never
 *   refused: releasing more than is reserved is a caller bug, a `StoreInvariantError`):
 *   - `unknown-agent`: no such agent;
 *   - `unschedulable`: the agent takes no placements (`schedulable` false: drained or lost);
 *   - `capacity`: `requested` of `slot` is more than the agent has `free`.
 */
export type ApplyResult =
  | { ok: true }
  | { ok: false; conflict: 'version'; actual: number | undefined }
  | {
      ok: false;
      conflict: 'capacity';
      agentId: string;
      slot: string;
      requested: number;
      free: number;
    }
  | { ok: false; conflict: 'unknown-agent'; agentId: string }
  | { ok: false; conflict: 'unschedulable'; agentId: string };

/** What a round at some time has to do, as `StoreTx.workDue` reads it. */
export interface DueWork {
  /** Some timer is due (`dueAt <= now`). */
  timers: boolean;
  /** Some outbox row is due (`dueAt <= now`). */
  outbox: boolean;
  /** Those of the statuses asked about that some session is in, in the order asked. */
  statuses: Status[];
}

/** Reads and writes inside one store transaction. */
export interface StoreTx {
  putAgent(agent: Omit<AgentRow, 'reserved'>): Promise<void>;
  setSchedulable(agentId: string, schedulable: boolean): Promise<void>;
  agents(): Promise<AgentRow[]>;
  /** Sessions by id (missing ids are absent from the result). */
  getSessions(ids: string[]): Promise<SessionRow[]>;
  /**
   * Sessions in `statuses`, oldest first (submittedAt, then id), at most `limit`, locked to
   * this transaction; rows another transaction holds are skipped, not waited for. With `after`,
   * only sessions that come after it in that order (a claim can go on where the last ended).
   */
  claimSessions(
    statuses: readonly Status[],
    limit: number,
    after?: ClaimCursor,
  ): Promise<SessionRow[]>;
  /**
   * Ids of the sessions in `statuses` whose `holds` name `agentId`, in id order. A plain read:
   * nothing is locked, and a session another transaction holds locked is listed, not skipped
   * (a write to it waits for that lock and is version-checked like any other). Reads no
   * snapshots.
   */
  sessionsOnAgent(agentId: string, statuses: readonly Status[]): Promise<string[]>;
  /** Per owner, among sessions in `statuses`: how many, and the sum of their holds. */
  ownerUsage(statuses: readonly Status[]): Promise<Map<string, { sessions: number; slots: Slots }>>;
  /** Status of each given session id that exists (for dependency predicates). */
  statusOf(ids: string[]): Promise<Map<string, Status>>;
  /**
   * Optional: version, status and substate of each existing session among `ids` (absent ids
   * are left out), without reading snapshots. The dispatcher uses it to tell current calls
   * from stale ones cheaply; without it, it reads the sessions.
   */
  headsOf?(ids: string[]): Promise<Map<string, SessionHead>>;
  /** Apply one transition atomically within the transaction (a savepoint per write). */
  apply(write: TransitionWrite): Promise<ApplyResult>;
  /**
   * Optional batch form of `apply`: the writes are applied in order, each as `apply` would (a
   * refused write keeps nothing and later writes see the state without it), with one result per
   * write. Stores that pay a round trip per statement (SQL) implement it to write a whole stage in
   * a few statements; callers fall back to `apply` one by one when it is absent. If a write
   * throws (a caller bug such as a bad version), nothing of the batch is kept.
   *
   * The SQL store locks the sessions and agents a call writes, in id order, until the
   * transaction ends. Two transactions that each lock agents in several calls can lock them in
   * opposite orders and deadlock (PostgreSQL then aborts one): a transaction should change
   * reservations in one call, as every stage of the manager does.
   */
  applyMany?(writes: readonly TransitionWrite[]): Promise<ApplyResult[]>;
  /** Timers with `dueAt <= now`, earliest first, locked (skip locked). */
  dueTimers(now: number, limit: number): Promise<TimerRow[]>;
  /** Outbox rows with `dueAt <= now`, earliest first, locked (skip locked). */
  dueOutbox(now: number, limit: number): Promise<OutboxRow[]>;
  /**
   * Optional: `dueOutbox` and a `retryOutbox(key, leaseUntil)` of every row it returns, in one
   * step: the rows come back as they were (their old `dueAt` and `tries`), and are left due at
   * `leaseUntil` with one more try. Without it, the dispatcher makes those calls itself.
   */
  leaseOutbox?(now: number, limit: number, leaseUntil: number): Promise<OutboxRow[]>;
  /** The call was answered (success or a failure reported to the chart): remove the row. */
  finishOutbox(key: string): Promise<void>;
  /**
   * A transient dispatch failure (or a lease): the row is due again at `dueAt`, with `tries`
   * one higher. An unknown key is ignored.
   */
  retryOutbox(key: string, dueAt: number): Promise<void>;
  /** The earliest due time among timers and among outbox rows (for virtual-time drivers). */
  nextDue(): Promise<{ timer?: number; outbox?: number }>;
  /**
   * Optional: what a round at `now` would find to do: a due timer, a due outbox row, a session
   * in each of `statuses`. A plain read, in one statement: rows other transactions hold locked
   * count. The manager then runs only the stages that have something to do (one read instead of
   * a transaction per stage); without it, every stage looks for itself.
   */
  workDue?(now: number, statuses: readonly Status[]): Promise<DueWork>;
  history(sessionId: string): Promise<HistoryRow[]>;
  /** Every session id with its status (for reports and invariant checks). */
  statuses(): Promise<Map<string, Status>>;
}

/** Persistence. Implementations: `MemoryStore`, and the SQL store (PostgreSQL / PGlite). */
export interface SessionStore {
  /** Runs `work` in one transaction; it commits when `work` resolves, rolls back if it throws. */
  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------------------------

/** Reports an agent sends back, delivered to `manager.receive`. */
export type AgentReport =
  | { type: 'image.pulling'; agentId: string; sessionId: string; attempt: number }
  | { type: 'image.pulled'; agentId: string; sessionId: string; attempt: number }
  | {
      type: 'kernel.creating';
      agentId: string;
      sessionId: string;
      kernelId: string;
      attempt: number;
    }
  | {
      type: 'kernel.started';
      agentId: string;
      sessionId: string;
      kernelId: string;
      attempt: number;
    }
  | {
      type: 'kernel.terminated';
      agentId: string;
      sessionId: string;
      kernelId: string;
      outcome: 'TERMINATED' | 'CANCELLED';
      /**
       * The create attempt of the kernel that ended, when the agent knows it: lets a late
       * report about an earlier attempt's kernel be told apart from the current kernel's end.
       */
      attempt?: number;
    }
  | { type: 'agent.lost'; agentId: string };

/** The result of an agent call: accepted (progress comes as reports) or a classified failure. */
export type AgentCallResult = { ok: true } | { ok: false; failure: Failure };

/** What the agent found for `inspectKernels`. */
export type InspectResult =
  | { ok: true; kernels: Record<string, 'creating' | 'running' | 'absent'> }
  | { ok: false; failure: Failure };

/**
 * Talks to agents. Every call carries the effect's idempotency key: a repeated key must not
 * repeat the work (a second createKernels with the same key creates nothing new), and a
 * destroy of a kernel and create attempt wins over a create of it that arrives later (the agent
 * keeps a tombstone), so a create delayed in transit cannot outlive its cleanup. Calls never
 * throw for agent-side problems; they resolve with a classified failure.
 */
export interface AgentClient {
  pullImages(effect: Extract<AgentEffect, { type: 'pullImages' }>): Promise<AgentCallResult>;
  createKernels(effect: Extract<AgentEffect, { type: 'createKernels' }>): Promise<AgentCallResult>;
  inspectKernels(effect: Extract<AgentEffect, { type: 'inspectKernels' }>): Promise<InspectResult>;
  destroyKernels(
    effect: Extract<AgentEffect, { type: 'destroyKernels' }>,
  ): Promise<AgentCallResult>;
  /** Where reports go; the manager sets this to its own `receive`. */
  onReport(listener: (report: AgentReport) => void): void;
}

// ---------------------------------------------------------------------------------------------
// Clock, randomness, logging
// ---------------------------------------------------------------------------------------------

/** The manager's only source of time. */
export interface Clock {
  now(): number;
}

/** A source of uniform numbers in [0, 1), for placement ties and per-session jitter seeds. */
export type RandomSource = () => number;

/** The subset of pino's interface the library logs through (silent by default). */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export type { Effect };
