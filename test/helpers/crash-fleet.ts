/**
 * The simulated agents of a crash or multi-manager test, kept in the test process so they
 * outlive every manager process: one `SimulatedAgents` on the test's virtual clock, wrapped to
 * record which createKernels call made which kernels.
 */
import type { FaultRates } from '../../src/adapters/agents/faults.js';
import { SimulatedAgents } from '../../src/adapters/agents/simulated.js';
import type { AgentEffect } from '../../src/core/effects.js';
import { ManualClock } from '../../src/manager/clock.js';
import type { AgentCallResult, AgentClient, InspectResult } from '../../src/manager/ports.js';
import { CallRecorder } from './invariants.js';

/** createKernels calls of one key, and how many of them made at least one kernel. */
export interface CreateTally {
  calls: number;
  created: number;
}

export class CrashFleet {
  readonly clock: ManualClock;
  readonly agents: SimulatedAgents;
  readonly recorder = new CallRecorder();
  /** Per createKernels key. */
  readonly creates = new Map<string, CreateTally>();
  private readonly client: AgentClient;

  constructor(options: { start: number; seed: number; faults: FaultRates }) {
    this.clock = new ManualClock(options.start);
    this.agents = new SimulatedAgents({
      clock: this.clock,
      seed: options.seed,
      faults: options.faults,
    });
    this.client = this.recorder.wrap(this.agents);
  }

  /** Runs one call a manager process forwarded, at the fleet's current virtual time. */
  async call(effect: AgentEffect): Promise<AgentCallResult | InspectResult> {
    switch (effect.type) {
      case 'pullImages':
        return this.client.pullImages(effect);
      case 'createKernels':
        return this.create(effect);
      case 'inspectKernels':
        return this.client.inspectKernels(effect);
      case 'destroyKernels':
        return this.client.destroyKernels(effect);
    }
  }

  /** Keys whose createKernels calls made kernels more than once (must be none). */
  createdTwice(): string[] {
    return [...this.creates].filter(([, tally]) => tally.created > 1).map(([key]) => key);
  }

  /** Keys sent more than once (a re-dispatch after a crash, a lease expiry or a retry). */
  resentKeys(): number {
    return [...this.creates.values()].filter((tally) => tally.calls > 1).length;
  }

  private async create(effect: Extract<AgentEffect, { type: 'createKernels' }>) {
    const before = this.kernelsOf(effect.key);
    const result = await this.client.createKernels(effect);
    const tally = this.creates.get(effect.key) ?? { calls: 0, created: 0 };
    tally.calls += 1;
    if (this.kernelsOf(effect.key) > before) tally.created += 1;
    this.creates.set(effect.key, tally);
    return result;
  }

  private kernelsOf(key: string): number {
    return this.agents.liveKernels().filter((kernel) => kernel.key === key).length;
  }
}
