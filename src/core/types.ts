/**
 * The plain-data vocabulary shared by the chart, the decision core, the manager and the adapters.
 * Everything here is JSON: no classes, no functions, no Dates (times are epoch milliseconds).
 */

/** Slot names, in their integer units: millicores, MiB, whole GPUs, GPU fraction in 1/1000. */
export const SLOT_NAMES = ['cpu', 'mem', 'cuda.device', 'cuda.shares'] as const;
export type SlotName = (typeof SLOT_NAMES)[number];

/** A resource vector. Absent slots are zero. Amounts are non-negative integers. */
export type Slots = Partial<Record<SlotName, number>>;

/** Top-level statuses: the chart's top-level states and the `status` column. */
export const STATUSES = [
  'PENDING',
  'SCHEDULED',
  'PREPARING',
  'PREPARED',
  'CREATING',
  'RUNNING',
  'TERMINATING',
  'TERMINATED',
  'CANCELLED',
  'ERROR',
] as const;
export type Status = (typeof STATUSES)[number];

export const FINAL_STATUSES = ['TERMINATED', 'CANCELLED', 'ERROR'] as const satisfies Status[];
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** Statuses in which a session holds a slot reservation on its agents. */
export const HOLDING_STATUSES = [
  'SCHEDULED',
  'PREPARING',
  'PREPARED',
  'CREATING',
  'RUNNING',
  'TERMINATING',
] as const satisfies Status[];

/** Per-kernel statuses kept in the session's context (observed from agent reports). */
export const KERNEL_STATUSES = [
  'PENDING',
  'SCHEDULED',
  'PULLING',
  'PREPARED',
  'CREATING',
  'RUNNING',
  'TERMINATING',
  'TERMINATED',
  'CANCELLED',
] as const;
export type KernelStatus = (typeof KERNEL_STATUSES)[number];

/** One kernel of a normalized spec. `id` is unique within the session (`k0`, `k1`, ...). */
export interface KernelSpec {
  id: string;
  slots: Slots;
}

/** A validated, normalized session spec (what `submit` stores). */
export interface SessionSpec {
  id: string;
  owner: string;
  image: string;
  /** Higher runs first among equal arrivals; default 0. */
  priority: number;
  kernels: KernelSpec[];
  /** Session ids that must be RUNNING or TERMINATED (successfully) before this one is placed. */
  dependsOn: string[];
  /** Epoch ms of submission. */
  submittedAt: number;
}

/**
 * How a failure is handled. Adapters set it at the throw site; nothing is guessed from text.
 * - `transient`: back off and retry on the same agent; counts against the stage budget.
 * - `ambiguous`: the request may have taken effect (a create RPC timed out after being sent);
 *   verify on the agent before anything else; counts against nothing until verified.
 * - `agent`: the agent cannot take this session (lost, full, unschedulable); release the
 *   reservation and reschedule elsewhere; counts against the reschedule budget.
 * - `permanent`: retrying cannot help (image not found, bad spec, quota); clean up and cancel.
 */
export const FAILURE_CLASSES = ['transient', 'ambiguous', 'agent', 'permanent'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** A failure reported by an adapter, as data. */
export interface Failure {
  class: FailureClass;
  /** Machine-readable code, e.g. `connection-refused`, `image-not-found`, `create-timeout`. */
  code: string;
  message: string;
  /** Overrides the computed backoff delay for the retry this failure causes. */
  retryAfterMs?: number;
}

/**
 * The failure code an adapter uses when the agent itself is gone (with every kernel on it).
 * Only this code lets the manager count a failed destroy as done; any other destroy failure is
 * retried, since the kernels may still be running.
 */
export const AGENT_LOST_CODE = 'agent-lost';

/** The stages that make attempts; each has its own budget in the retry policy. */
export const STAGES = ['pull', 'create'] as const;
export type Stage = (typeof STAGES)[number];

/** Machine-readable reasons a session ended (or left a stage). */
export const REASONS = [
  'user-cancelled',
  'user-terminated',
  'pull-failed-permanently',
  'pull-retries-exhausted',
  'create-failed-permanently',
  'create-retries-exhausted',
  'cleanup-timed-out',
  'reschedule-budget-exhausted',
  'deadline-exceeded',
  'kernel-exited',
  'agent-lost',
] as const;
export type Reason = (typeof REASONS)[number];
