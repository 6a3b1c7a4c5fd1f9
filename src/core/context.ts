import type { RetryPolicy } from '../policy/types.js';
import type { Failure, KernelStatus, Reason, SessionSpec, Slots, Stage, Status } from './types.js';

/** One kernel as the chart tracks it: where it is placed and what its agent last reported. */
export interface KernelState {
  id: string;
  slots: Slots;
  agentId: string | null;
  status: KernelStatus;
  /** The create attempt this kernel belongs to (0 before any create). */
  attempt: number;
}

/** One entry of the attempt history (capped at `MAX_HISTORY` entries, oldest dropped). */
export interface AttemptRecord {
  stage: Stage | 'schedule' | 'verify' | 'cleanup';
  attempt: number;
  at: number;
  agentId?: string;
  outcome: 'started' | 'succeeded' | 'failed' | 'timed-out';
  failure?: Failure;
}

/** Placement penalties: agents that failed this session, and how often. */
export type AvoidList = Record<string, number>;

/** The chart's context: everything about one session that survives a restart. */
export interface SessionContext {
  sessionId: string;
  spec: SessionSpec;
  /** The policy frozen at submit. */
  policy: RetryPolicy;
  kernels: KernelState[];
  /** Per-agent reservation this session holds now (agent id -> slots); empty when none. */
  holds: Record<string, Slots>;
  /** Attempts made in the current placement per stage; reset when rescheduled. */
  attempts: Record<Stage, number>;
  /** Times the session went back to PENDING after an agent failure. */
  reschedules: number;
  avoid: AvoidList;
  history: AttemptRecord[];
  /** Set when the session ends or leaves a stage for a reason. */
  reason: Reason | null;
  lastFailure: Failure | null;
  /** The last placement failure (predicate name and message), while PENDING. */
  lastPlacementFailure: { predicate: string; message: string; at: number } | null;
  /** The delay chosen for the backoff being waited out now, ms. */
  backoffMs: number;
  /** State of the per-session PRNG used for jitter (seeded at submit from the injected source). */
  rng: number;
  /** Epoch ms the current status was entered. */
  statusSince: number;
  /** The top-level status the last notify reported (to emit `from` in the next one). */
  lastStatus: Status;
  /** Epoch ms the current stage attempt (pull or create) started; bounds its deadline. */
  attemptStartedAt: number;
  /** Agents that answered the verification in progress (reset when a verification starts). */
  inspected: string[];
  /** Counter of inspect / destroy requests, the discriminator of their idempotency keys. */
  requestSeq: number;
  /**
   * Cleanup timeouts that passed in the cleanup under way, each answered by asking for the
   * destroy again (reset when a cleanup begins; bounded by `MAX_CLEANUP_WAITS`).
   */
  cleanupWaits: number;
  /** The agent the last failure came from (`null` when none), penalized on reschedule. */
  failedAgentId: string | null;
}

/** What the chart is created with (`input` of the machine). */
export interface SessionInput {
  spec: SessionSpec;
  policy: RetryPolicy;
  /** Seed for the session's jitter PRNG, a 32-bit unsigned integer. */
  seed: number;
  now: number;
}

/** Attempt histories are capped so a flapping session cannot grow its row without bound. */
export const MAX_HISTORY = 64;
