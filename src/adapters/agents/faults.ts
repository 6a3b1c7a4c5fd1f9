/**
 * Fault injection for the simulated fleet: seeded rates per operation and failure class,
 * report faults, agent loss, named presets, and scripted one-off faults for exact tests.
 */
import { FAILURE_CLASSES, type Failure, type FailureClass } from '../../core/types.js';
import type { AgentReport } from '../../manager/ports.js';

/** The agent calls of `AgentClient`. */
export const AGENT_OPS = [
  'pullImages',
  'createKernels',
  'inspectKernels',
  'destroyKernels',
] as const;
export type AgentOp = (typeof AGENT_OPS)[number];

/** Probability per call of each failure class (the classes are exclusive; the rest succeeds). */
export type ClassRates = Partial<Record<FailureClass, number>>;

/** Seeded fault rates. Every rate is a probability in [0, 1]; absent means 0. */
export interface FaultRates {
  pullImages?: ClassRates;
  createKernels?: ClassRates;
  inspectKernels?: ClassRates;
  destroyKernels?: ClassRates;
  /** Probability that a report is never delivered. */
  lostReports?: number;
  /** Probability that a report is delivered twice. */
  duplicatedReports?: number;
  /** Probability that a report overtakes the one before it on the same session. */
  reorderedReports?: number;
  /** Probability per call that the called agent disappears with its kernels. */
  agentLoss?: number;
}

/** The failure code each operation reports for each class. */
export const FAULT_CODES: Record<AgentOp, Record<FailureClass, string>> = {
  pullImages: {
    transient: 'registry-unavailable',
    ambiguous: 'pull-timeout',
    agent: 'agent-unschedulable',
    permanent: 'image-not-found',
  },
  createKernels: {
    transient: 'agent-busy',
    ambiguous: 'create-timeout',
    agent: 'agent-unschedulable',
    permanent: 'invalid-kernel-spec',
  },
  inspectKernels: {
    transient: 'rpc-unavailable',
    ambiguous: 'inspect-timeout',
    agent: 'agent-unreachable',
    permanent: 'inspect-refused',
  },
  destroyKernels: {
    transient: 'rpc-unavailable',
    ambiguous: 'destroy-timeout',
    agent: 'agent-unreachable',
    permanent: 'destroy-refused',
  },
};

/**
 * Named presets. Calibrated from the GPU-job failure shares in
 * `traces/acme-cluster-summary/cluster_summary.csv` (fail_rate_gpu: Seren 0.429, Kalos 0.397,
 * Philly 0.305, Helios 0.155; mean 0.32). Those shares count every failed job, mostly user code;
 * the simulator only fails session starts, so:
 * - `light` assumes one failure in ten is a start-time infrastructure fault: 0.32 x 0.1 = ~3.2%
 *   of sessions meet at least one faulty call. With one pull and one create per agent,
 *   pull 1.3% and create 2.0% per call give 1 - 0.987 x 0.980 = 3.3%.
 * - `heavy` is a stress level: the worst cluster's whole share (Seren, 0.43) taken as the chance
 *   that a start meets a fault: pull 20% and create 28% per call give 1 - 0.80 x 0.72 = 42.4%.
 * Within a call the classes split (create) 60% transient, 20% ambiguous, 15% agent, 5% permanent
 * and (pull) 70% transient, 10% ambiguous, 10% agent, 10% permanent (image-not-found).
 * Report faults and agent loss have no trace counterpart; they are set to exercise those paths:
 * agent loss strikes once per 20,000 calls (light) or 2,000 calls (heavy), and a lost agent
 * stays lost until `addAgent` brings it back empty.
 */
export const FAULT_PRESETS = {
  none: {},
  light: {
    pullImages: { transient: 0.0091, ambiguous: 0.0013, agent: 0.0013, permanent: 0.0013 },
    createKernels: { transient: 0.012, ambiguous: 0.004, agent: 0.003, permanent: 0.001 },
    inspectKernels: { transient: 0.01 },
    destroyKernels: { transient: 0.01 },
    lostReports: 0.002,
    duplicatedReports: 0.005,
    reorderedReports: 0.005,
    agentLoss: 0.00005,
  },
  heavy: {
    pullImages: { transient: 0.14, ambiguous: 0.02, agent: 0.02, permanent: 0.02 },
    createKernels: { transient: 0.168, ambiguous: 0.056, agent: 0.042, permanent: 0.014 },
    inspectKernels: { transient: 0.05 },
    destroyKernels: { transient: 0.05 },
    lostReports: 0.02,
    duplicatedReports: 0.05,
    reorderedReports: 0.05,
    agentLoss: 0.0005,
  },
} as const satisfies Record<string, FaultRates>;
export type FaultPreset = keyof typeof FAULT_PRESETS;

/** Which calls or reports a scripted fault applies to (absent fields match anything). */
export interface ScriptMatch {
  agentId?: string;
  sessionId?: string;
}

/**
 * A one-off fault for the next matching call or report:
 * - `{ op, failure }`: the next matching call resolves with `failure`. `performed` (default:
 *   true for ambiguous, false otherwise) says whether the call took effect anyway.
 * - `{ dropReport }`: the next matching report of that type is never delivered.
 * - `{ delayReport, byMs }`: the next matching report of that type arrives `byMs` later.
 * - `{ slowCreate }`: the next matching create starts its kernels after `slowCreate` ms.
 */
export type ScriptedFault =
  | (ScriptMatch & { op: AgentOp; failure: Failure; performed?: boolean })
  | (ScriptMatch & { dropReport: AgentReport['type']; kernelId?: string })
  | (ScriptMatch & { delayReport: AgentReport['type']; byMs: number; kernelId?: string })
  | (ScriptMatch & { slowCreate: number });

/** A failure a call resolves with, and whether the call took effect before failing. */
export interface InjectedFailure {
  failure: Failure;
  performed: boolean;
}

/** Picks the class a uniform draw `u` falls in, cumulatively in `FAILURE_CLASSES` order. */
export function pickClass(rates: ClassRates | undefined, u: number): FailureClass | undefined {
  let edge = 0;
  for (const failureClass of FAILURE_CLASSES) {
    edge += rates?.[failureClass] ?? 0;
    if (u < edge) return failureClass;
  }
  return undefined;
}

/** The failure a simulated call reports for `op` and `failureClass`. */
export function simulatedFailure(
  op: AgentOp,
  failureClass: FailureClass,
  agentId: string,
): Failure {
  const code = FAULT_CODES[op][failureClass];
  return { class: failureClass, code, message: `${op} on agent '${agentId}' failed: ${code}` };
}

/** Resolves a preset name or explicit rates to rates. */
export function faultRates(faults: FaultPreset | FaultRates | undefined): FaultRates {
  if (faults === undefined) return {};
  if (typeof faults === 'string') return FAULT_PRESETS[faults];
  return faults;
}
