import type {
  CreateKernelsEffect,
  DestroyKernelsEffect,
  InspectKernelsEffect,
  PullImagesEffect,
} from '../../core/effects.js';
import { sum } from '../../core/slots.js';
import type { Failure, Slots } from '../../core/types.js';
import type { AgentReport } from '../../manager/ports.js';
import type { KernelOutcome, SimAgent, SimKernel } from './fleet.js';
import type { Reporter } from './reporter.js';
import type { ScriptBook } from './script-book.js';
import type { Latencies } from './simulated.js';

/**
 * What each call does on an agent that accepted it: the kernel table, the image cache and the
 * reports that follow, all idempotent by key.
 */
export class AgentOperations {
  constructor(
    private readonly latency: Latencies,
    private readonly reporter: Reporter,
    private readonly scripts: ScriptBook,
  ) {}

  pull(agent: SimAgent, effect: PullImagesEffect, now: number): undefined {
    const { agentId, sessionId, attempt } = effect;
    const valid = (at: number) => agent.lostAt === undefined || agent.lostAt > at;
    const readyAt = agent.images.get(effect.image);
    const pulled: AgentReport = { type: 'image.pulled', agentId, sessionId, attempt };
    if (readyAt !== undefined && readyAt <= now) {
      this.reporter.send(pulled, now + this.latency.pulled, valid);
      return undefined;
    }
    const due = readyAt ?? now + this.latency.pull;
    agent.images.set(effect.image, due);
    const pulling: AgentReport = { type: 'image.pulling', agentId, sessionId, attempt };
    this.reporter.send(pulling, now + this.latency.pulling, valid);
    this.reporter.send(pulled, due, valid);
    return undefined;
  }

  create(agent: SimAgent, effect: CreateKernelsEffect, now: number): Failure | undefined {
    const known = agent.createKeys.get(effect.key);
    if (known !== undefined) {
      for (const kernel of known) this.reportState(agent, kernel, now);
      return undefined;
    }
    const existing = effect.kernels.map((k) =>
      agent.find(effect.sessionId, k.kernelId, effect.attempt),
    );
    const missing = effect.kernels.filter(
      (k, i) =>
        existing[i] === undefined && !agent.buried(effect.sessionId, k.kernelId, effect.attempt),
    );
    const need = sum(missing.map((k) => k.slots));
    if (!agent.fits(need)) return this.insufficient(agent, need);
    const startAfter =
      missing.length > 0 ? this.scripts.takeSlowCreate(agent.id, effect.sessionId) : undefined;
    for (const kernel of existing) if (kernel !== undefined) this.reportState(agent, kernel, now);
    for (const { kernelId, slots } of missing) {
      const runningAt = now + (startAfter ?? this.latency.create);
      const { sessionId, attempt, key } = effect;
      const kernel: SimKernel = {
        agentId: agent.id,
        sessionId,
        kernelId,
        attempt,
        key,
        slots,
        runningAt,
      };
      agent.insert(kernel);
      this.reportKernel(agent, kernel, 'kernel.creating', now + this.latency.creating);
      this.reportKernel(agent, kernel, 'kernel.started', runningAt);
    }
    return undefined;
  }

  private insufficient(agent: SimAgent, need: Slots): Failure {
    const message =
      `agent '${agent.id}' cannot fit ${JSON.stringify(need)}: ` +
      `${JSON.stringify(agent.free())} free of ${JSON.stringify(agent.capacity)}`;
    return { class: 'agent', code: 'insufficient-capacity', message };
  }

  /** Reports a kernel's current state again (a repeated create). */
  private reportState(agent: SimAgent, kernel: SimKernel, now: number): void {
    const at = now + this.latency.creating;
    if (kernel.removedAt !== undefined) {
      this.reportTerminated(agent, kernel, kernel.outcome ?? 'CANCELLED', at);
    } else {
      const type = now >= kernel.runningAt ? 'kernel.started' : 'kernel.creating';
      this.reportKernel(agent, kernel, type, at);
    }
  }

  private reportKernel(
    agent: SimAgent,
    kernel: SimKernel,
    type: 'kernel.creating' | 'kernel.started',
    dueAt: number,
  ): void {
    const { sessionId, kernelId, attempt } = kernel;
    const valid = (at: number) =>
      (kernel.removedAt === undefined || kernel.removedAt > at) &&
      (agent.lostAt === undefined || agent.lostAt > at);
    this.reporter.send({ type, agentId: agent.id, sessionId, kernelId, attempt }, dueAt, valid);
  }

  private reportTerminated(
    agent: SimAgent,
    kernel: Pick<SimKernel, 'sessionId' | 'kernelId' | 'attempt'>,
    outcome: KernelOutcome,
    dueAt: number,
  ): void {
    const { sessionId, kernelId, attempt } = kernel;
    const report: AgentReport = {
      type: 'kernel.terminated',
      agentId: agent.id,
      sessionId,
      kernelId,
      outcome,
      attempt,
    };
    const valid = (at: number) => agent.lostAt === undefined || agent.lostAt > at;
    this.reporter.send(report, dueAt, valid);
  }

  inspect(
    agent: SimAgent,
    effect: InspectKernelsEffect,
    now: number,
  ): Record<string, 'creating' | 'running' | 'absent'> {
    const kernels: Record<string, 'creating' | 'running' | 'absent'> = {};
    for (const kernelId of effect.kernelIds) {
      const kernel = agent.find(effect.sessionId, kernelId, effect.attempt);
      kernels[kernelId] =
        kernel === undefined ? 'absent' : now >= kernel.runningAt ? 'running' : 'creating';
    }
    return kernels;
  }

  destroy(agent: SimAgent, effect: DestroyKernelsEffect, now: number): undefined {
    for (const kernelId of effect.kernelIds) {
      agent.bury(effect.sessionId, kernelId, effect.attempt);
      const live = agent.findAll(effect.sessionId, kernelId);
      for (const kernel of live) this.terminate(agent, kernel, now, this.latency.destroy);
      if (live.length === 0) this.reportGone(agent, effect, kernelId, now);
    }
    return undefined;
  }

  /** A destroy of a kernel that is not there: report how it ended (CANCELLED if unknown). */
  private reportGone(agent: SimAgent, effect: DestroyKernelsEffect, kernelId: string, now: number) {
    const ended = agent.ended.get(`${effect.sessionId}/${kernelId}`);
    const kernel = ended ?? { sessionId: effect.sessionId, kernelId, attempt: effect.attempt };
    const at = now + this.latency.destroy;
    this.reportTerminated(agent, kernel, ended?.outcome ?? 'CANCELLED', at);
  }

  terminate(agent: SimAgent, kernel: SimKernel, now: number, delay: number): void {
    const outcome = agent.remove(kernel, now);
    this.reportTerminated(agent, kernel, outcome, now + delay);
  }
}
