/** The manager's public surface: options, the session view, subscriptions. */
import type { AttemptRecord } from '../core/context.js';
import type { SessionSnapshot } from '../core/decide.js';
import type { SessionEvent } from '../core/events.js';
import type { Failure, Reason, Slots, Stage, Status } from '../core/types.js';
import type { RetryPolicy } from '../policy/types.js';
import type {
  AgentClient,
  AgentReport,
  AgentRow,
  Clock,
  HistoryRow,
  Logger,
  RandomSource,
  SessionStore,
} from './ports.js';

/** Which pending session goes first (Backend.AI's schedulers). */
export const PICKERS = ['fifo', 'lifo', 'drf'] as const;
export type PickerName = (typeof PICKERS)[number];

/** Which agent a session goes to (Backend.AI's agent selectors). */
export const SELECTORS = ['concentrated', 'dispersed', 'roundrobin'] as const;
export type SelectorName = (typeof SELECTORS)[number];

/** What a user submits, before validation. `submit` normalizes it into a `SessionSpec`. */
export interface SubmitSpec {
  /** Optional; generated when absent. Unique among sessions. */
  id?: string;
  owner: string;
  image: string;
  priority?: number;
  /** One entry per kernel; at least one. */
  kernels: { slots: Slots }[];
  dependsOn?: string[];
  /** Overrides the manager's policy for this session (validated, then frozen into it). */
  policy?: RetryPolicy;
}

/** Predicate limits applied at placement. */
export interface PlacementLimits {
  /** Live sessions (SCHEDULED to TERMINATING) one owner may have at once. Default: unlimited. */
  maxConcurrentPerOwner?: number;
}

export interface ManagerOptions {
  store: SessionStore;
  agents: AgentClient;
  clock: Clock;
  /** Default policy frozen into sessions submitted without one. Default: `defaultPolicy`. */
  policy?: RetryPolicy;
  picker?: PickerName;
  selector?: SelectorName;
  limits?: PlacementLimits;
  /** Silent by default. */
  logger?: Logger;
  /**
   * Uniform [0,1) source for generated session ids, per-session jitter seeds and ties.
   * Default: `Math.random`, so managers sharing a store, or one restarted on it, generate
   * different ids and jitter. Pass `seededRandom(n)` for a reproducible run (the replay does).
   */
  random?: RandomSource;
  /** Sessions a stage handles per store transaction. Default 500. */
  batchSize?: number;
  /** Identifies this manager in logs and claims. Default: a random id. */
  managerId?: string;
  /**
   * Called after each committed transition with the event and the snapshot it led to (see
   * `createSessionInspector` in `session-lifecycle/inspect`). It only observes: what it throws
   * is logged and dropped. Default: none, and then nothing is collected.
   */
  inspect?: TransitionObserver;
}

/** One committed transition of one session, as the `inspect` hook sees it. */
export interface CommittedTransition {
  sessionId: string;
  /** The event the session took; `null` when the session was created (`submit`). */
  event: SessionEvent | null;
  /** The chart snapshot after the event. Read-only: it is the manager's own. */
  snapshot: SessionSnapshot;
  /** The manager's clock when the transition was decided, epoch ms. */
  at: number;
}

/** The manager's `inspect` hook: sees committed transitions in commit order. */
export type TransitionObserver = (transition: CommittedTransition) => void;

/** What `get(id)` returns. */
export interface SessionView {
  id: string;
  owner: string;
  status: Status;
  substate: string;
  attempts: Record<Stage, number>;
  reschedules: number;
  /** kernel id -> agent id (absent while unplaced). */
  placement: Record<string, string>;
  kernels: { id: string; agentId: string | null; status: string; attempt: number }[];
  reason: Reason | null;
  lastFailure: Failure | null;
  lastPlacementFailure: { predicate: string; message: string; at: number } | null;
  attemptHistory: AttemptRecord[];
  history: HistoryRow[];
  version: number;
}

/** A status or substate change, delivered to subscribers after it is committed. */
export interface TransitionNotice {
  sessionId: string;
  from: Status;
  to: Status;
  substate: string;
  at: number;
  reason?: Reason;
}

/** What `tick()` did, for progress reporting. */
export interface TickSummary {
  now: number;
  timersFired: number;
  transitions: number;
  dispatched: number;
  errors: number;
}

export interface SessionManager {
  registerAgent(agent: Omit<AgentRow, 'reserved'>): Promise<void>;
  submit(spec: SubmitSpec): Promise<string>;
  cancel(id: string, reason?: Reason): Promise<void>;
  terminate(id: string): Promise<void>;
  /** An agent's report; rejected (typed error) when the session, kernel or binding is wrong. */
  receive(report: AgentReport): Promise<void>;
  /** One round of every stage at `clock.now()`. */
  tick(): Promise<TickSummary>;
  /** Ticks every `intervalMs` (real time) until `stop()`. */
  run(intervalMs?: number): void;
  /**
   * Stops `run()`'s ticks; resolves once the current tick and the reports being applied are
   * done, so the store may be closed then. An `agent.lost` report still waiting to be retried
   * after write conflicts is rejected with `ManagerStoppedError` (deliver it again later).
   */
  stop(): Promise<void>;
  /** Re-dispatch unfinished outbox rows and verify CREATING sessions. */
  recover(): Promise<void>;
  get(id: string): Promise<SessionView | undefined>;
  /** Called after each committed status change; returns an unsubscribe function. */
  subscribe(listener: (notice: TransitionNotice) => void): () => void;
}
