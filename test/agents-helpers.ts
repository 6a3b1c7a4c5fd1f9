import type { SimulatedAgentsOptions } from '../src/adapters/agents/simulated.js';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import type {
  CreateKernelsEffect,
  DestroyKernelsEffect,
  InspectKernelsEffect,
  PullImagesEffect,
} from '../src/core/effects.js';
import type { AgentReport } from '../src/manager/ports.js';

/** A virtual clock the test moves by hand. */
export class ManualClock {
  constructor(public t = 0) {}
  now(): number {
    return this.t;
  }
}

/** A fleet with agents a1 (4 cpu) and a2 (2 cpu, 1 GPU), every report recorded with its time. */
export function fleet(options: Partial<SimulatedAgentsOptions> = {}) {
  const clock = new ManualClock();
  const agents = new SimulatedAgents({ clock, ...options });
  agents.addAgent({ id: 'a1', capacity: { cpu: 4000, mem: 8192 } });
  agents.addAgent({ id: 'a2', capacity: { cpu: 2000, 'cuda.device': 1 } });
  const reports: { at: number; report: AgentReport }[] = [];
  agents.onReport((report) => reports.push({ at: clock.t, report }));
  /** Moves the clock to `t` and delivers what is due. */
  const advance = (t: number) => {
    clock.t = t;
    return agents.deliverDue(t);
  };
  const types = () => reports.map(({ report }) => report.type);
  return { clock, agents, reports, advance, types };
}

export function pull(sessionId: string, agentId = 'a1', attempt = 1): PullImagesEffect {
  const key = `${sessionId}/${agentId}/pull/${attempt}`;
  return { type: 'pullImages', sessionId, agentId, image: 'py:3', kernelIds: ['k0'], attempt, key };
}

export function create(
  sessionId: string,
  agentId = 'a1',
  attempt = 1,
  kernels: CreateKernelsEffect['kernels'] = [{ kernelId: 'k0', slots: { cpu: 1000 } }],
): CreateKernelsEffect {
  const key = `${sessionId}/${agentId}/create/${attempt}`;
  return { type: 'createKernels', sessionId, agentId, image: 'py:3', kernels, attempt, key };
}

export function inspect(sessionId: string, agentId = 'a1', attempt = 1, kernelIds = ['k0']) {
  const key = `${sessionId}/${agentId}/inspect/${attempt}`;
  const effect: InspectKernelsEffect = {
    type: 'inspectKernels',
    sessionId,
    agentId,
    kernelIds,
    attempt,
    key,
  };
  return effect;
}

export function destroy(sessionId: string, agentId = 'a1', attempt = 1, kernelIds = ['k0']) {
  const key = `${sessionId}/${agentId}/destroy/${attempt}`;
  const effect: DestroyKernelsEffect = {
    type: 'destroyKernels',
    sessionId,
    agentId,
    kernelIds,
    attempt,
    key,
  };
  return effect;
}
