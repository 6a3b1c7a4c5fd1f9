import type {
  CreateKernelsEffect,
  DestroyKernelsEffect,
  InspectKernelsEffect,
  PullImagesEffect,
} from '../../core/effects.js';
import { checkSlots } from '../../core/slots.js';
import { AGENT_LOST_CODE, type Failure, type Slots } from '../../core/types.js';
import type {
  AgentCallResult,
  AgentClient,
  AgentReport,
  Clock,
  InspectResult,
} from '../../manager/ports.js';
import { seededRandom } from '../../policy/random.js';
import { checkFaultRates, checkLatency, SimulationError } from './errors.js';
import type { AgentOp, FaultPreset, FaultRates, InjectedFailure, ScriptedFault } from './faults.js';
import { faultRates, pickClass, simulatedFailure } from './faults.js';
import { SimAgent } from './fleet.js';
import { AgentOperations } from './operations.js';
import { Reporter, type ReportFaultCounts } from './reporter.js';
import { ScriptBook } from './script-book.js';

/** Virtual-time latencies of the simulated agents, ms after the call. */
export interface Latencies {
  /** Until `image.pulling` when the image must be fetched. Default 50. */
  pulling: number;
  /** Until `image.pulled` when the image must be fetched. Default 20000. */
  pull: number;
  /** Until `image.pulled` when the image is already present. Default 50. */
  pulled: number;
  /** Until `kernel.creating`. Default 50. */
  creating: number;
  /** Until `kernel.started` (the kernel runs from then on). Default 3000. */
  create: number;
  /** Until `kernel.terminated` after a destroy. Default 500. */
  destroy: number;
  /** Between a report and its duplicate. Default 10. */
  duplicate: number;
}

export const DEFAULT_LATENCIES: Latencies = {
  pulling: 50,
  pull: 20_000,
  pulled: 50,
  creating: 50,
  create: 3_000,
  destroy: 500,
  duplicate: 10,
};

/** Options of `SimulatedAgents`. */
export interface SimulatedAgentsOptions {
  /** Virtual time; read at each call. */
  clock: Clock;
  /** Seed of every random fault; the same seed and calls give the same run. Default 1. */
  seed?: number;
  latencies?: Partial<Latencies>;
  /** A preset name or explicit rates. Default `none`. */
  faults?: FaultPreset | FaultRates;
}

/** One call as the fleet saw it. */
export interface CallRecord {
  op: AgentOp;
  agentId: string;
  sessionId: string;
  key: string;
  at: number;
  /** The failure code, absent when the call succeeded. */
  failure?: string;
}

/** A kernel that exists on a simulated agent. */
export interface LiveKernel {
  agentId: string;
  sessionId: string;
  kernelId: string;
  attempt: number;
  key: string;
  state: 'creating' | 'running';
}

type AnyEffect =
  | PullImagesEffect
  | CreateKernelsEffect
  | InspectKernelsEffect
  | DestroyKernelsEffect;

/**
 * An in-process agent fleet in virtual time. Calls resolve at once with accepted or a
 * classified failure; progress arrives as reports queued at `now + latency`, delivered by
 * `deliverDue(now)`. Each agent keeps its own kernel table and capacity; calls are idempotent
 * by key. Faults are seeded (`faults`) or scripted one-offs (`script`).
 */
export class SimulatedAgents implements AgentClient {
  private readonly clock: Clock;
  private readonly latency: Latencies;
  private readonly rates: FaultRates;
  private readonly random: () => number;
  private readonly scripts = new ScriptBook();
  private readonly reporter: Reporter;
  private readonly fleet = new Map<string, SimAgent>();
  private readonly log: CallRecord[] = [];
  private readonly ops: AgentOperations;

  constructor(options: SimulatedAgentsOptions) {
    this.clock = options.clock;
    this.latency = { ...DEFAULT_LATENCIES, ...options.latencies };
    for (const [name, value] of Object.entries(this.latency))
      checkLatency(value, `latencies.${name}`);
    this.rates = checkFaultRates(faultRates(options.faults));
    this.random = seededRandom(options.seed ?? 1);
    this.reporter = new Reporter(this.rates, this.scripts, this.random, this.latency.duplicate);
    this.ops = new AgentOperations(this.latency, this.reporter, this.scripts);
  }

  /** Adds an agent (or brings back a lost one, empty). */
  addAgent(agent: { id: string; capacity: Slots }): void {
    if (this.fleet.get(agent.id)?.lost === false) {
      throw new SimulationError(
        'duplicate-agent',
        'agent.id',
        `agent.id '${agent.id}' is already in the fleet: use a new id or lose the agent first`,
      );
    }
    this.fleet.set(agent.id, new SimAgent(agent.id, checkSlots(agent.capacity, 'agent.capacity')));
  }

  /** The agent disappears with its kernels; one `agent.lost` report is sent now. */
  loseAgent(agentId: string): void {
    const agent = this.fleet.get(agentId);
    if (agent === undefined || agent.lost) return;
    const now = this.clock.now();
    agent.lose(now);
    this.reporter.sendReliably({ type: 'agent.lost', agentId }, now);
  }

  /** A running kernel exits by itself: it is removed and `kernel.terminated` is reported now. */
  exitKernel(agentId: string, sessionId: string, kernelId: string): number {
    const agent = this.fleet.get(agentId);
    if (agent === undefined || agent.lost) return 0;
    const now = this.clock.now();
    const kernels = agent.findAll(sessionId, kernelId);
    for (const kernel of kernels) this.ops.terminate(agent, kernel, now, 0);
    return kernels.length;
  }

  /** Queues a one-off fault for the next matching call or report. */
  script(fault: ScriptedFault): void {
    this.scripts.add(fault);
  }

  onReport(listener: (report: AgentReport) => void): void {
    this.reporter.listen(listener);
  }

  /** Delivers reports due by `now` (default: the clock); returns how many were delivered. */
  deliverDue(now = this.clock.now()): number {
    return this.reporter.deliverDue(now);
  }

  /** As `deliverDue`, awaiting each listener's promise before delivering the next report. */
  deliverDueAsync(now = this.clock.now()): Promise<number> {
    return this.reporter.deliverDueAsync(now);
  }

  /** When the next queued report is due, if any. */
  nextDueAt(): number | undefined {
    return this.reporter.nextDueAt();
  }

  async pullImages(effect: PullImagesEffect): Promise<AgentCallResult> {
    return this.call('pullImages', effect, (agent, now) => this.ops.pull(agent, effect, now));
  }

  async createKernels(effect: CreateKernelsEffect): Promise<AgentCallResult> {
    return this.call('createKernels', effect, (agent, now) => this.ops.create(agent, effect, now));
  }

  async inspectKernels(effect: InspectKernelsEffect): Promise<InspectResult> {
    let kernels: Record<string, 'creating' | 'running' | 'absent'> = {};
    const result = this.call('inspectKernels', effect, (agent, now) => {
      kernels = this.ops.inspect(agent, effect, now);
      return undefined;
    });
    return result.ok ? { ok: true, kernels } : result;
  }

  async destroyKernels(effect: DestroyKernelsEffect): Promise<AgentCallResult> {
    return this.call('destroyKernels', effect, (agent, now) =>
      this.ops.destroy(agent, effect, now),
    );
  }

  /** How many calls of `op` (every op when absent) matched the filter. */
  calls(op?: AgentOp, filter: { agentId?: string; sessionId?: string; key?: string } = {}): number {
    return this.log.filter(
      (call) =>
        (op === undefined || call.op === op) &&
        (filter.agentId === undefined || call.agentId === filter.agentId) &&
        (filter.sessionId === undefined || call.sessionId === filter.sessionId) &&
        (filter.key === undefined || call.key === filter.key),
    ).length;
  }

  /** Every call so far, oldest first. */
  callLog(): readonly CallRecord[] {
    return this.log;
  }

  /** Every kernel that exists now on an agent that is not lost, by agent, session, kernel. */
  liveKernels(): LiveKernel[] {
    const now = this.clock.now();
    const live: LiveKernel[] = [];
    for (const agent of this.fleet.values()) {
      for (const k of agent.kernels.values()) {
        const state = now >= k.runningAt ? 'running' : 'creating';
        const { agentId, sessionId, kernelId, attempt, key } = k;
        live.push({ agentId, sessionId, kernelId, attempt, key, state });
      }
    }
    const order = (k: LiveKernel) => `${k.agentId}\u0000${k.sessionId}\u0000${k.kernelId}`;
    return live.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  }

  /** Slots used by live kernels on an agent (undefined for an unknown agent). */
  usedSlots(agentId: string): Slots | undefined {
    return this.fleet.get(agentId)?.used();
  }

  /** Report faults injected so far, and reports queued now. */
  reportStats(): ReportFaultCounts & { pending: number } {
    return { ...this.reporter.counts, pending: this.reporter.pending };
  }

  /** Runs one call: agent checks, agent loss, injected faults, then the operation itself. */
  private call(
    op: AgentOp,
    effect: AnyEffect,
    perform: (agent: SimAgent, now: number) => Failure | undefined,
  ): AgentCallResult {
    const now = this.clock.now();
    const [lossDraw, classDraw] = [this.random(), this.random()];
    const record: CallRecord = {
      op,
      agentId: effect.agentId,
      sessionId: effect.sessionId,
      key: effect.key,
      at: now,
    };
    this.log.push(record);
    const failure = this.attempt(op, effect, now, lossDraw, classDraw, perform);
    if (failure === undefined) return { ok: true };
    record.failure = failure.code;
    return { ok: false, failure };
  }

  private attempt(
    op: AgentOp,
    effect: AnyEffect,
    now: number,
    lossDraw: number,
    classDraw: number,
    perform: (agent: SimAgent, now: number) => Failure | undefined,
  ): Failure | undefined {
    const agent = this.fleet.get(effect.agentId);
    const missing = this.unreachable(effect.agentId, agent);
    if (missing !== undefined || agent === undefined) return missing;
    if (lossDraw < (this.rates.agentLoss ?? 0)) {
      this.loseAgent(agent.id);
      return this.unreachable(agent.id, agent);
    }
    const injected = this.injected(op, effect, classDraw);
    if (injected !== undefined && !injected.performed) return injected.failure;
    const failure = perform(agent, now);
    return injected?.failure ?? failure;
  }

  private unreachable(agentId: string, agent: SimAgent | undefined): Failure | undefined {
    if (agent === undefined) {
      return {
        class: 'agent',
        code: 'agent-unknown',
        message: `agent '${agentId}' is not in the fleet`,
      };
    }
    if (agent.lost) {
      return { class: 'agent', code: AGENT_LOST_CODE, message: `agent '${agentId}' was lost` };
    }
    return undefined;
  }

  private injected(op: AgentOp, effect: AnyEffect, classDraw: number): InjectedFailure | undefined {
    const scripted = this.scripts.takeCallFault(op, effect.agentId, effect.sessionId);
    if (scripted !== undefined) return scripted;
    const failureClass = pickClass(this.rates[op], classDraw);
    if (failureClass === undefined) return undefined;
    const failure = simulatedFailure(op, failureClass, effect.agentId);
    return { failure, performed: failureClass === 'ambiguous' };
  }
}
