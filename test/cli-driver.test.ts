import { describe, expect, it } from 'vitest';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import type { ReplayFleet } from '../src/cli/fleet.js';
import { type RunOptions, runReplay } from '../src/cli/replay.js';
import { hasLeaks, type RunResult } from '../src/cli/result.js';
import type { Clock } from '../src/manager/ports.js';
import { generateWorkload } from '../src/workload/generator.js';
import type { Workload } from '../src/workload/types.js';

function options(workload: Workload, overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    workload,
    policy: 'guarded',
    seed: 5,
    makeFleet: (clock, seed) => new SimulatedAgents({ clock, seed, faults: 'heavy' }),
    ...overrides,
  };
}

/** Everything but the wall-clock figures. */
function virtual(result: RunResult) {
  const { wallMs, sessionsPerSec, ...rest } = result;
  return rest;
}

const agent = (id: string) => ({ id, capacity: { cpu: 8000, mem: 16384 }, labels: {} });
const session = (id: string, arrivalMs: number, cpu: number, lifetimeMs?: number) => ({
  arrivalMs,
  spec: { id, owner: 'u', image: 'img', kernels: [{ slots: { cpu, mem: 1024 } }] },
  ...(lifetimeMs === undefined ? {} : { lifetimeMs }),
});

describe('runReplay', () => {
  const workload = generateWorkload({ seed: 5, sessions: 40, agents: 12 });

  it('leaks nothing under heavy faults and accounts for every session', async () => {
    const result = await runReplay(options(workload));
    expect(result.sessions).toBe(40);
    expect(result.leaks).toEqual([]);
    expect(result.orphans).toEqual([]);
    expect(result.stop).toBe('settled');
    expect(result.outcomes.reduce((sum, o) => sum + o.count, 0)).toBe(40);
    const running = result.outcomes.find((o) => o.status === 'RUNNING')?.count ?? 0;
    expect(result.reachedRunning).toBeGreaterThanOrEqual(running);
    expect(hasLeaks(result)).toBe(false);
  });

  it('gives the same virtual-time result for the same seed', async () => {
    const first = await runReplay(options(workload));
    const second = await runReplay(options(workload));
    expect(virtual(second)).toEqual(virtual(first));
  });

  it('gives the same result whether the memory store copies rows or shares them', async () => {
    const shared = await runReplay(options(workload));
    const copied = await runReplay(options(workload, { makeStore: () => new MemoryStore() }));
    expect(virtual(copied)).toEqual(virtual(shared));
  });

  it('counts a kernel no session owns as an orphan', async () => {
    const makeFleet: RunOptions['makeFleet'] = (clock, seed) => {
      const fleet: ReplayFleet = new SimulatedAgents({ clock, seed, faults: 'none' });
      const phantom = { agentId: 'a0', sessionId: 'ghost', kernelId: 'k0', attempt: 1 };
      const live = fleet.liveKernels.bind(fleet);
      fleet.liveKernels = () => [...live(), phantom];
      return fleet;
    };
    const small: Workload = { agents: [agent('a0')], sessions: [session('s0', 0, 1000)] };
    const result = await runReplay(options(small, { makeFleet }));
    expect(result.orphans).toEqual([
      { agentId: 'a0', sessionId: 'ghost', kernelId: 'k0', why: 'unknown session' },
    ]);
    expect(hasLeaks(result)).toBe(true);
  });

  it('stops when a session fits no agent instead of ticking to the cutoff', async () => {
    const small: Workload = {
      agents: [agent('a0')],
      sessions: [session('s0', 0, 2000), session('big', 1000, 64_000)],
    };
    const noFaults = (clock: Clock, seed: number) =>
      new SimulatedAgents({ clock, seed, faults: 'none' });
    const result = await runReplay(options(small, { makeFleet: noFaults }));
    expect(result.stop).toBe('settled');
    expect(result.outcomes).toEqual([
      { status: 'PENDING', reason: 'capacity', count: 1 },
      { status: 'RUNNING', reason: null, count: 1 },
    ]);
    expect(result.ticks).toBeLessThan(20);
  });

  it('terminates sessions their lifetime after RUNNING with --lifetimes', async () => {
    const small: Workload = {
      agents: [agent('a0')],
      sessions: [session('s0', 0, 2000, 60_000), session('s1', 500, 2000, 120_000)],
    };
    const noFaults = (clock: Clock, seed: number) =>
      new SimulatedAgents({ clock, seed, faults: 'none' });
    const result = await runReplay(options(small, { makeFleet: noFaults, lifetimes: true }));
    expect(result.reachedRunning).toBe(2);
    expect(result.outcomes).toEqual([
      { status: 'TERMINATED', reason: 'user-terminated', count: 2 },
    ]);
    expect(result.leaks).toEqual([]);
    expect(result.orphans).toEqual([]);
  });
});
