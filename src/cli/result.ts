/** What a replay measured: plain data, printed as a table and written as the JSON report. */
import type { Stage, Status } from '../core/types.js';

/** Which retry policy a run used: the default guarded one, or the original no-retry one. */
export type PolicyChoice = 'guarded' | 'seed';

/**
 * How many sessions ended a run in one status, with one reason (null: none recorded). For a
 * session still PENDING the reason is the placement predicate that held it back last.
 */
export interface OutcomeCount {
  status: Status;
  reason: string | null;
  count: number;
}

/** Virtual time from submit to RUNNING, over the sessions that got there (ms). */
export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** An agent whose reserved slots differ from what live sessions hold on it. */
export interface ReservationLeak {
  agentId: string;
  /** Slot name -> reserved minus held (positive: reserved for nobody). */
  difference: Record<string, number>;
  /** Final sessions that still hold slots on this agent. */
  heldByFinal: string[];
}

/** A kernel on an agent that no live attempt owns. */
export interface OrphanKernel {
  agentId: string;
  sessionId: string;
  kernelId: string;
  /** Why it counts: its session's status, or that it belongs to another attempt. */
  why: string;
}

/** One policy's run over the workload. */
export interface RunResult {
  policy: PolicyChoice;
  sessions: number;
  /** Specs the manager refused at submit, with its message. */
  rejected: { id: string; message: string }[];
  /** Sessions that reached RUNNING at least once. */
  reachedRunning: number;
  /** Sessions per status and reason at the end, most frequent first. */
  outcomes: OutcomeCount[];
  /** Per stage: attempts made -> number of sessions that made that many. */
  attempts: Record<Stage, Record<string, number>>;
  /** Null when no session reached RUNNING. */
  timeToRunning: Latency | null;
  leaks: ReservationLeak[];
  orphans: OrphanKernel[];
  /** How the loop ended: everything settled, or the virtual-time cap was hit. */
  stop: 'settled' | 'max-virtual-time';
  /** Virtual time from the first arrival to the end of the run (ms). */
  virtualMs: number;
  ticks: number;
  wallMs: number;
  /** Sessions submitted per wall-clock second. */
  sessionsPerSec: number;
}

/** A whole replay: what was replayed, with which settings, and each policy's run. */
export interface ReplayReport {
  source: { kind: 'openb' | 'generator'; sessions: number; agents: number; detail: string };
  seed: number;
  faults: string;
  picker: string;
  selector: string;
  /** The `--store` the runs used (`memory`, `pglite`, a directory or a URL, password hidden). */
  store: string;
  runs: RunResult[];
}

/** True when a run leaked reservations or left orphan kernels. */
export function hasLeaks(run: RunResult): boolean {
  return run.leaks.length > 0 || run.orphans.length > 0;
}
