import { add, fits, sub } from '../../core/slots.js';
import type { Slots } from '../../core/types.js';

/** A kernel as the simulated agent keeps it. */
export interface SimKernel {
  agentId: string;
  sessionId: string;
  kernelId: string;
  attempt: number;
  /** The createKernels key that made it. */
  key: string;
  slots: Slots;
  /** Virtual time the kernel starts running. */
  runningAt: number;
  /** Virtual time it was destroyed or lost with its agent. */
  removedAt?: number;
  /** How it ended, once destroyed. */
  outcome?: KernelOutcome;
}

/** How a destroyed kernel ended: CANCELLED if it never ran. */
export type KernelOutcome = 'TERMINATED' | 'CANCELLED';

const tableKey = (sessionId: string, kernelId: string, attempt: number): string =>
  `${sessionId}/${kernelId}/${attempt}`;

/** One simulated agent: its capacity, kernel table, image cache and create keys. */
export class SimAgent {
  readonly kernels = new Map<string, SimKernel>();
  /** createKernels key -> the kernels it made (kept after they are removed). */
  readonly createKeys = new Map<string, SimKernel[]>();
  /** image -> virtual time it is (or will be) present. */
  readonly images = new Map<string, number>();
  /** `${sessionId}/${kernelId}` -> the last such kernel destroyed, to answer a repeat alike. */
  readonly ended = new Map<string, SimKernel>();
  /**
   * Destroy tombstones, `${sessionId}/${kernelId}/${attempt}`: a create of that kernel and
   * attempt that arrives after its destroy (delayed in transit, or re-sent by a manager that
   * crashed) creates nothing, so a destroy always wins over a create it overtook.
   */
  readonly tombstones = new Set<string>();
  lostAt: number | undefined;
  /** The slots of the live kernels, kept as they come and go (`kernels` changes only here). */
  private usedSlots: Slots = {};

  constructor(
    readonly id: string,
    readonly capacity: Slots,
  ) {}

  get lost(): boolean {
    return this.lostAt !== undefined;
  }

  used(): Slots {
    return this.usedSlots;
  }

  free(): Slots {
    return sub(this.capacity, this.used());
  }

  fits(need: Slots): boolean {
    return fits(need, this.free());
  }

  buried(sessionId: string, kernelId: string, attempt: number): boolean {
    return this.tombstones.has(tableKey(sessionId, kernelId, attempt));
  }

  bury(sessionId: string, kernelId: string, attempt: number): void {
    this.tombstones.add(tableKey(sessionId, kernelId, attempt));
  }

  find(sessionId: string, kernelId: string, attempt: number): SimKernel | undefined {
    return this.kernels.get(tableKey(sessionId, kernelId, attempt));
  }

  /** Every live kernel of the session with this id, any attempt. */
  findAll(sessionId: string, kernelId: string): SimKernel[] {
    return [...this.kernels.values()].filter(
      (kernel) => kernel.sessionId === sessionId && kernel.kernelId === kernelId,
    );
  }

  insert(kernel: SimKernel): void {
    const key = tableKey(kernel.sessionId, kernel.kernelId, kernel.attempt);
    const replaced = this.kernels.get(key);
    if (replaced !== undefined) this.usedSlots = sub(this.usedSlots, replaced.slots);
    this.kernels.set(key, kernel);
    this.usedSlots = add(this.usedSlots, kernel.slots);
    this.createKeys.set(kernel.key, [...(this.createKeys.get(kernel.key) ?? []), kernel]);
  }

  /** Removes the kernel at `now`; returns how it ended. */
  remove(kernel: SimKernel, now: number): KernelOutcome {
    const outcome: KernelOutcome = now >= kernel.runningAt ? 'TERMINATED' : 'CANCELLED';
    const key = tableKey(kernel.sessionId, kernel.kernelId, kernel.attempt);
    const present = this.kernels.get(key);
    if (present !== undefined) {
      this.kernels.delete(key);
      this.usedSlots = sub(this.usedSlots, present.slots);
    }
    kernel.removedAt = now;
    kernel.outcome = outcome;
    this.ended.set(`${kernel.sessionId}/${kernel.kernelId}`, kernel);
    return outcome;
  }

  /** Loses the agent at `now`: every kernel goes with it. */
  lose(now: number): void {
    this.lostAt = now;
    for (const kernel of this.kernels.values()) kernel.removedAt = now;
    this.kernels.clear();
    this.usedSlots = {};
  }
}
