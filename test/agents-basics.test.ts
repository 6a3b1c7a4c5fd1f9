import { describe, expect, it } from 'vitest';
import { SimulationError } from '../src/adapters/agents/errors.js';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { create, destroy, fleet, inspect, ManualClock, pull } from './agents-helpers.js';

describe('SimulatedAgents: pulling', () => {
  it('reports pulling then pulled at their latencies for an image not yet present', async () => {
    const { agents, reports, advance } = fleet();
    expect(await agents.pullImages(pull('s1'))).toEqual({ ok: true });
    expect(agents.nextDueAt()).toBe(50);
    expect(advance(49)).toBe(0);
    expect(advance(50)).toBe(1);
    expect(advance(20_000)).toBe(1);
    expect(reports).toEqual([
      { at: 50, report: { type: 'image.pulling', agentId: 'a1', sessionId: 's1', attempt: 1 } },
      { at: 20_000, report: { type: 'image.pulled', agentId: 'a1', sessionId: 's1', attempt: 1 } },
    ]);
    expect(agents.nextDueAt()).toBeUndefined();
  });

  it('reports only pulled when the image is already on the agent', async () => {
    const { agents, reports, advance } = fleet();
    await agents.pullImages(pull('s1'));
    advance(20_000);
    reports.length = 0;
    await agents.pullImages(pull('s2'));
    advance(20_050);
    expect(reports).toEqual([
      { at: 20_050, report: { type: 'image.pulled', agentId: 'a1', sessionId: 's2', attempt: 1 } },
    ]);
  });

  it('joins a pull already in progress: pulled comes when the first pull ends', async () => {
    const { agents, reports, advance, clock } = fleet();
    await agents.pullImages(pull('s1'));
    clock.t = 1000;
    await agents.pullImages(pull('s1', 'a1', 2));
    advance(30_000);
    expect(
      reports.map(({ at, report }) => [at, report.type, 'attempt' in report && report.attempt]),
    ).toEqual([
      [30_000, 'image.pulling', 1],
      [30_000, 'image.pulling', 2],
      [30_000, 'image.pulled', 1],
      [30_000, 'image.pulled', 2],
    ]);
    expect(agents.callLog().map((c) => [c.op, c.at])).toEqual([
      ['pullImages', 0],
      ['pullImages', 1000],
    ]);
  });
});

describe('SimulatedAgents: creating', () => {
  it('creates kernels that report creating, then started, and then run', async () => {
    const { agents, reports, advance } = fleet();
    expect(await agents.createKernels(create('s1'))).toEqual({ ok: true });
    expect(agents.liveKernels()).toEqual([
      {
        agentId: 'a1',
        sessionId: 's1',
        kernelId: 'k0',
        attempt: 1,
        key: 's1/a1/create/1',
        state: 'creating',
      },
    ]);
    advance(3000);
    expect(reports.map((r) => [r.at, r.report])).toEqual([
      [
        3000,
        { type: 'kernel.creating', agentId: 'a1', sessionId: 's1', kernelId: 'k0', attempt: 1 },
      ],
      [
        3000,
        { type: 'kernel.started', agentId: 'a1', sessionId: 's1', kernelId: 'k0', attempt: 1 },
      ],
    ]);
    expect(agents.liveKernels()[0]?.state).toBe('running');
    expect(agents.usedSlots('a1')).toEqual({ cpu: 1000 });
  });

  it('creates nothing new for a repeated key and reports the current state again', async () => {
    const { agents, advance, types } = fleet();
    await agents.createKernels(create('s1'));
    advance(3000);
    expect(await agents.createKernels(create('s1'))).toEqual({ ok: true });
    advance(3050);
    expect(types()).toEqual(['kernel.creating', 'kernel.started', 'kernel.started']);
    expect(agents.liveKernels()).toHaveLength(1);
    expect(agents.usedSlots('a1')).toEqual({ cpu: 1000 });
    expect(agents.calls('createKernels', { key: 's1/a1/create/1' })).toBe(2);
  });

  it('does not bring back kernels destroyed since when a create key is repeated', async () => {
    const { agents, reports, advance } = fleet();
    await agents.createKernels(create('s1'));
    advance(100);
    await agents.destroyKernels(destroy('s1'));
    await agents.createKernels(create('s1'));
    advance(10_000);
    expect(agents.liveKernels()).toEqual([]);
    expect(
      reports.map((r) => [r.at, r.report.type, 'outcome' in r.report && r.report.outcome]),
    ).toEqual([
      [100, 'kernel.creating', false],
      [10_000, 'kernel.terminated', 'CANCELLED'],
      [10_000, 'kernel.terminated', 'CANCELLED'],
    ]);
  });

  it('fails with insufficient-capacity (agent class) and creates none of the kernels', async () => {
    const { agents } = fleet();
    const kernels = [
      { kernelId: 'k0', slots: { cpu: 1500 } },
      { kernelId: 'k1', slots: { cpu: 1000, 'cuda.device': 1 } },
    ];
    expect(await agents.createKernels(create('s1', 'a2', 1, kernels))).toEqual({
      ok: false,
      failure: {
        class: 'agent',
        code: 'insufficient-capacity',
        message:
          'agent \'a2\' cannot fit {"cpu":2500,"cuda.device":1}: {"cpu":2000,"cuda.device":1} ' +
          'free of {"cpu":2000,"cuda.device":1}',
      },
    });
    expect(agents.liveKernels()).toEqual([]);
    expect(agents.callLog()[0]?.failure).toBe('insufficient-capacity');
  });

  it('counts capacity of live kernels only: destroyed kernels free their slots', async () => {
    const { agents } = fleet();
    const big = [{ kernelId: 'k0', slots: { cpu: 2000 } }];
    expect((await agents.createKernels(create('s1', 'a2', 1, big))).ok).toBe(true);
    expect((await agents.createKernels(create('s2', 'a2', 1, big))).ok).toBe(false);
    await agents.destroyKernels(destroy('s1', 'a2'));
    expect((await agents.createKernels(create('s2', 'a2', 2, big))).ok).toBe(true);
    expect(agents.liveKernels().map((k) => [k.sessionId, k.attempt])).toEqual([['s2', 2]]);
  });
});

describe('SimulatedAgents: inspecting and destroying', () => {
  it('creates nothing for a create that arrives after the destroy of its kernel', async () => {
    const { agents } = fleet();
    expect(await agents.destroyKernels(destroy('s1', 'a1', 1))).toEqual({ ok: true });
    expect(await agents.createKernels(create('s1', 'a1', 1))).toEqual({ ok: true });
    expect(agents.liveKernels()).toEqual([]);
    expect(await agents.createKernels(create('s1', 'a1', 2))).toEqual({ ok: true });
    expect(agents.liveKernels().map((k) => [k.sessionId, k.kernelId, k.attempt])).toEqual([
      ['s1', 'k0', 2],
    ]);
  });

  it('answers inspect from its kernel table for the asked attempt', async () => {
    const { agents, clock } = fleet();
    await agents.createKernels(
      create('s1', 'a1', 2, [
        { kernelId: 'k0', slots: { cpu: 1 } },
        { kernelId: 'k1', slots: { cpu: 1 } },
      ]),
    );
    expect(await agents.inspectKernels(inspect('s1', 'a1', 2, ['k0', 'k1', 'k2']))).toEqual({
      ok: true,
      kernels: { k0: 'creating', k1: 'creating', k2: 'absent' },
    });
    clock.t = 3000;
    expect(await agents.inspectKernels(inspect('s1', 'a1', 2, ['k0']))).toEqual({
      ok: true,
      kernels: { k0: 'running' },
    });
    expect(await agents.inspectKernels(inspect('s1', 'a1', 1, ['k0']))).toEqual({
      ok: true,
      kernels: { k0: 'absent' },
    });
  });

  it('reports TERMINATED for a kernel that ran and CANCELLED for one that never did', async () => {
    const { agents, reports, advance, clock } = fleet();
    await agents.createKernels(create('s1'));
    clock.t = 1000;
    await agents.createKernels(create('s2'));
    clock.t = 3000;
    await agents.destroyKernels(destroy('s1'));
    await agents.destroyKernels(destroy('s2'));
    advance(3500);
    const ended = reports.filter((r) => r.report.type === 'kernel.terminated');
    expect(ended).toEqual([
      {
        at: 3500,
        report: {
          type: 'kernel.terminated',
          agentId: 'a1',
          sessionId: 's1',
          kernelId: 'k0',
          outcome: 'TERMINATED',
          attempt: 1,
        },
      },
      {
        at: 3500,
        report: {
          type: 'kernel.terminated',
          agentId: 'a1',
          sessionId: 's2',
          kernelId: 'k0',
          outcome: 'CANCELLED',
          attempt: 1,
        },
      },
    ]);
    expect(agents.liveKernels()).toEqual([]);
  });

  it('drops the started report of a kernel destroyed before it started', async () => {
    const { agents, advance, clock, types } = fleet();
    await agents.createKernels(create('s1'));
    clock.t = 1000;
    await agents.destroyKernels(destroy('s1'));
    advance(5000);
    expect(types()).toEqual(['kernel.creating', 'kernel.terminated']);
    expect(agents.reportStats().stale).toBe(1);
  });

  it('answers a repeated destroy with the same outcome as the first', async () => {
    const { agents, reports, advance, clock } = fleet();
    await agents.createKernels(create('s1'));
    clock.t = 4000;
    await agents.destroyKernels(destroy('s1'));
    await agents.destroyKernels(destroy('s1'));
    advance(4500);
    const outcomes = reports.filter((r) => r.report.type === 'kernel.terminated');
    expect(outcomes.map((r) => 'outcome' in r.report && r.report.outcome)).toEqual([
      'TERMINATED',
      'TERMINATED',
    ]);
  });

  it('names the attempt of the kernel that ended, so a late report is told apart', async () => {
    const { agents, reports, advance, clock } = fleet();
    agents.script({ delayReport: 'kernel.terminated', byMs: 30_000 });
    await agents.createKernels(create('s1', 'a1', 1));
    clock.t = 100;
    await agents.destroyKernels(destroy('s1', 'a1', 1));
    clock.t = 200;
    await agents.createKernels(create('s1', 'a1', 2));
    advance(40_000);
    const ended = reports.filter((r) => r.report.type === 'kernel.terminated');
    expect(ended.map((r) => [r.at, 'attempt' in r.report && r.report.attempt])).toEqual([
      [40_000, 1],
    ]);
    expect(agents.liveKernels().map((k) => [k.kernelId, k.attempt, k.state])).toEqual([
      ['k0', 2, 'running'],
    ]);
  });

  it('lets a running kernel exit by itself with a TERMINATED report', async () => {
    const { agents, reports, advance, clock } = fleet();
    await agents.createKernels(create('s1'));
    advance(3000);
    clock.t = 9000;
    expect(agents.exitKernel('a1', 's1', 'k0')).toBe(1);
    advance(9000);
    expect(reports.at(-1)).toEqual({
      at: 9000,
      report: {
        type: 'kernel.terminated',
        agentId: 'a1',
        sessionId: 's1',
        kernelId: 'k0',
        outcome: 'TERMINATED',
        attempt: 1,
      },
    });
    expect(agents.liveKernels()).toEqual([]);
  });
});

describe('SimulatedAgents: bookkeeping and inputs', () => {
  it('counts calls by operation, agent, session and key', async () => {
    const { agents } = fleet();
    await agents.pullImages(pull('s1'));
    await agents.pullImages(pull('s2', 'a2'));
    await agents.createKernels(create('s1'));
    expect(agents.calls()).toBe(3);
    expect(agents.calls('pullImages')).toBe(2);
    expect(agents.calls('pullImages', { agentId: 'a2' })).toBe(1);
    expect(agents.calls(undefined, { sessionId: 's1' })).toBe(2);
    expect(agents.calls('createKernels', { key: 'nope' })).toBe(0);
  });

  it('fails a call to an agent that is not in the fleet with agent class', async () => {
    const { agents } = fleet();
    expect(await agents.pullImages(pull('s1', 'zz'))).toEqual({
      ok: false,
      failure: { class: 'agent', code: 'agent-unknown', message: "agent 'zz' is not in the fleet" },
    });
  });

  it('refuses a duplicate agent id and bad rates or latencies with SimulationError', () => {
    const { agents } = fleet();
    expect(() => agents.addAgent({ id: 'a1', capacity: {} })).toThrow(
      "agent.id 'a1' is already in the fleet: use a new id or lose the agent first",
    );
    const clock = new ManualClock();
    const badRate = () =>
      new SimulatedAgents({ clock, faults: { createKernels: { transient: 1.5 } } });
    expect(badRate).toThrow(SimulationError);
    expect(badRate).toThrow(
      'faults.createKernels.transient is 1.5: a fault rate must be a number from 0 to 1',
    );
    const overOne = () =>
      new SimulatedAgents({ clock, faults: { pullImages: { transient: 0.6, agent: 0.6 } } });
    expect(overOne).toThrow(
      'faults.pullImages rates sum to 1.2: the classes of one operation must sum to at most 1',
    );
    expect(() => new SimulatedAgents({ clock, latencies: { create: -1 } })).toThrow(
      'latencies.create is -1: a latency must be a non-negative number of ms',
    );
  });
});
