import { describe, expect, it } from 'vitest';
import { FAULT_PRESETS, type FaultPreset, type FaultRates } from '../src/adapters/agents/faults.js';
import type { AgentReport } from '../src/manager/ports.js';
import { create, destroy, fleet, inspect, pull } from './agents-helpers.js';

const busy = { class: 'transient', code: 'busy', message: 'agent a2 is busy' } as const;

describe('SimulatedAgents: call faults', () => {
  it('makes an ambiguous create that did create: call failed, kernel exists, reports', async () => {
    const { agents, advance, types } = fleet({ faults: { createKernels: { ambiguous: 1 } } });
    expect(await agents.createKernels(create('s1'))).toEqual({
      ok: false,
      failure: {
        class: 'ambiguous',
        code: 'create-timeout',
        message: "createKernels on agent 'a1' failed: create-timeout",
      },
    });
    expect(agents.liveKernels().map((k) => [k.sessionId, k.kernelId, k.attempt])).toEqual([
      ['s1', 'k0', 1],
    ]);
    advance(3000);
    expect(types()).toEqual(['kernel.creating', 'kernel.started']);
    expect(await agents.inspectKernels(inspect('s1'))).toEqual({
      ok: true,
      kernels: { k0: 'running' },
    });
  });

  it('creates nothing for a transient create failure', async () => {
    const { agents, advance } = fleet({ faults: { createKernels: { transient: 1 } } });
    expect(await agents.createKernels(create('s1'))).toEqual({
      ok: false,
      failure: {
        class: 'transient',
        code: 'agent-busy',
        message: "createKernels on agent 'a1' failed: agent-busy",
      },
    });
    expect(agents.liveKernels()).toEqual([]);
    expect(advance(100_000)).toBe(0);
  });

  it('applies a scripted failure to the next matching call only', async () => {
    const { agents } = fleet();
    agents.script({ agentId: 'a2', op: 'createKernels', failure: busy });
    expect(await agents.createKernels(create('s1', 'a1'))).toEqual({ ok: true });
    expect(await agents.pullImages(pull('s2', 'a2'))).toEqual({ ok: true });
    expect(await agents.createKernels(create('s2', 'a2'))).toEqual({ ok: false, failure: busy });
    expect(await agents.createKernels(create('s2', 'a2'))).toEqual({ ok: true });
    expect(agents.calls('createKernels', { agentId: 'a2' })).toBe(2);
    expect(agents.liveKernels().map((k) => k.agentId)).toEqual(['a1', 'a2']);
  });

  it('performs a scripted ambiguous call by default and a scripted permanent one not', async () => {
    const { agents, advance, types } = fleet();
    const timeout = { class: 'ambiguous', code: 'create-timeout', message: 'timed out' } as const;
    const missing = {
      class: 'permanent',
      code: 'image-not-found',
      message: 'no such image',
    } as const;
    agents.script({ sessionId: 's1', op: 'createKernels', failure: timeout });
    agents.script({ sessionId: 's2', op: 'pullImages', failure: missing });
    expect(await agents.createKernels(create('s1'))).toEqual({ ok: false, failure: timeout });
    expect(await agents.pullImages(pull('s2'))).toEqual({ ok: false, failure: missing });
    advance(50_000);
    expect(types()).toEqual(['kernel.creating', 'kernel.started']);
  });

  it('loses an agent: kernels vanish, one agent.lost report, later calls fail', async () => {
    const { agents, reports, advance, clock } = fleet();
    await agents.createKernels(create('s1'));
    await agents.createKernels(create('s2', 'a2'));
    clock.t = 10;
    agents.loseAgent('a1');
    agents.loseAgent('a1');
    advance(10);
    advance(5000);
    expect(reports.filter((r) => r.report.agentId === 'a1')).toEqual([
      { at: 10, report: { type: 'agent.lost', agentId: 'a1' } },
    ]);
    expect(agents.liveKernels().map((k) => k.agentId)).toEqual(['a2']);
    const lost = { class: 'agent', code: 'agent-lost', message: "agent 'a1' was lost" };
    expect(await agents.destroyKernels(destroy('s1'))).toEqual({ ok: false, failure: lost });
    agents.addAgent({ id: 'a1', capacity: { cpu: 1000 } });
    expect(await agents.createKernels(create('s3'))).toEqual({ ok: true });
  });

  it('loses the called agent at the configured rate per call', async () => {
    const { agents, types, advance } = fleet({ faults: { agentLoss: 1 } });
    expect(await agents.pullImages(pull('s1'))).toEqual({
      ok: false,
      failure: { class: 'agent', code: 'agent-lost', message: "agent 'a1' was lost" },
    });
    expect((await agents.pullImages(pull('s1'))).ok).toBe(false);
    advance(0);
    expect(types()).toEqual(['agent.lost']);
  });
});

describe('SimulatedAgents: report faults', () => {
  it('drops the next report of a scripted type; the kernel still starts', async () => {
    const { agents, advance, types } = fleet();
    agents.script({ dropReport: 'kernel.started', sessionId: 's1' });
    await agents.createKernels(create('s1'));
    await agents.createKernels(create('s2'));
    advance(3000);
    expect(types()).toEqual(['kernel.creating', 'kernel.creating', 'kernel.started']);
    expect(await agents.inspectKernels(inspect('s1'))).toEqual({
      ok: true,
      kernels: { k0: 'running' },
    });
  });

  it('delays a scripted report by the given time', async () => {
    const { agents, reports, advance } = fleet();
    agents.script({ delayReport: 'kernel.creating', byMs: 5000 });
    await agents.createKernels(create('s1'));
    advance(10_000);
    expect(reports.map((r) => [r.report.type, r.at])).toEqual([
      ['kernel.started', 10_000],
      ['kernel.creating', 10_000],
    ]);
    expect(agents.reportStats()).toEqual({
      lost: 0,
      duplicated: 0,
      reordered: 0,
      scripted: 1,
      stale: 0,
      pending: 0,
    });
  });

  it('makes a scripted create take longer than the given time', async () => {
    const { agents, clock, advance, reports } = fleet();
    agents.script({ slowCreate: 700_000, agentId: 'a1' });
    await agents.createKernels(create('s1'));
    clock.t = 600_000;
    expect(await agents.inspectKernels(inspect('s1'))).toEqual({
      ok: true,
      kernels: { k0: 'creating' },
    });
    advance(700_000);
    expect(reports.at(-1)?.at).toBe(700_000);
    expect(reports.at(-1)?.report.type).toBe('kernel.started');
  });

  it('loses every report at rate 1 while the kernels still run', async () => {
    const { agents, advance } = fleet({ faults: { lostReports: 1 } });
    await agents.createKernels(create('s1'));
    expect(advance(10_000)).toBe(0);
    expect(agents.liveKernels()[0]?.state).toBe('running');
    expect(agents.reportStats().lost).toBe(2);
  });

  it('duplicates every report at rate 1, the copy a short gap later', async () => {
    const { agents, reports, advance } = fleet({ faults: { duplicatedReports: 1 } });
    await agents.pullImages(pull('s1'));
    advance(20_010);
    expect(reports.map((r) => [r.report.type])).toEqual([
      ['image.pulling'],
      ['image.pulling'],
      ['image.pulled'],
      ['image.pulled'],
    ]);
    expect(agents.reportStats().duplicated).toBe(2);
  });

  it('reorders at rate 1: creating held back until started, which awaits its kernel', async () => {
    const { agents, advance, reports } = fleet({ faults: { reorderedReports: 1 } });
    await agents.createKernels(create('s1'));
    expect(advance(2_999)).toBe(0);
    expect(agents.liveKernels()[0]?.state).toBe('creating');
    expect(advance(3_000)).toBe(2);
    expect(reports.map((r) => [r.at, r.report.type])).toEqual([
      [3_000, 'kernel.started'],
      [3_000, 'kernel.creating'],
    ]);
    expect(agents.liveKernels()[0]?.state).toBe('running');
    expect(agents.reportStats()).toMatchObject({ reordered: 1, pending: 0 });
  });

  it('reorders only a report still queued: one already delivered is not sent again', async () => {
    const { agents, advance, reports } = fleet({ faults: { reorderedReports: 1 } });
    await agents.pullImages(pull('s1'));
    // pulling is due at 50 and pulled at 20,000: pulled overtakes pulling, which follows it.
    expect(advance(19_999)).toBe(0);
    expect(advance(20_000)).toBe(2);
    // The image is there now: a second pull reports pulled alone, and the report before it on
    // this session has arrived, so there is nothing left to overtake.
    await agents.pullImages(pull('s1', 'a1', 2));
    expect(advance(20_050)).toBe(1);
    const attempt = (report: AgentReport) => ('attempt' in report ? report.attempt : undefined);
    expect(reports.map((r) => [r.at, r.report.type, attempt(r.report)])).toEqual([
      [20_000, 'image.pulled', 1],
      [20_000, 'image.pulling', 1],
      [20_050, 'image.pulled', 2],
    ]);
    expect(agents.reportStats()).toMatchObject({ reordered: 1, pending: 0 });
  });

  it('awaits each listener in deliverDueAsync before the next report', async () => {
    const { agents, clock } = fleet();
    const seen: string[] = [];
    agents.onReport(async (report: AgentReport) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push(report.type);
    });
    await agents.createKernels(create('s1'));
    clock.t = 3000;
    expect(await agents.deliverDueAsync()).toBe(2);
    expect(seen).toEqual(['kernel.creating', 'kernel.started']);
  });
});

describe('SimulatedAgents: presets', () => {
  async function run(preset: FaultPreset | FaultRates, seed: number) {
    const { agents, advance, reports, clock } = fleet({ faults: preset, seed });
    agents.addAgent({ id: 'big', capacity: { cpu: 10_000_000 } });
    for (let i = 0; i < 400; i += 1) {
      clock.t = i * 100;
      const id = `s${i}`;
      await agents.pullImages({ ...pull(id, 'big'), image: `img${i % 7}` });
      await agents.createKernels(create(id, 'big'));
    }
    advance(1_000_000);
    const failures = agents.callLog().filter((c) => c.failure !== undefined);
    return { log: agents.callLog(), reports, failures, stats: agents.reportStats() };
  }

  it('is deterministic for a seed and differs for another seed', async () => {
    const first = await run('heavy', 7);
    const again = await run('heavy', 7);
    const other = await run('heavy', 8);
    expect(again.log).toEqual(first.log);
    expect(again.reports).toEqual(first.reports);
    expect(other.log).not.toEqual(first.log);
  });

  it('injects nothing with the none preset', async () => {
    const { failures, stats } = await run('none', 3);
    expect(failures).toEqual([]);
    expect(stats).toEqual({
      lost: 0,
      duplicated: 0,
      reordered: 0,
      scripted: 0,
      stale: 0,
      pending: 0,
    });
  });

  it('documents the calibrated per-call totals of light and heavy', () => {
    const total = (rates: Record<string, number>) =>
      Math.round(Object.values(rates).reduce((a, b) => a + b, 0) * 10_000) / 10_000;
    expect(total(FAULT_PRESETS.light.pullImages)).toBe(0.013);
    expect(total(FAULT_PRESETS.light.createKernels)).toBe(0.02);
    expect(total(FAULT_PRESETS.heavy.pullImages)).toBe(0.2);
    expect(total(FAULT_PRESETS.heavy.createKernels)).toBe(0.28);
  });

  it('fails about the heavy share of create calls over a long run', async () => {
    const { log } = await run({ ...FAULT_PRESETS.heavy, agentLoss: 0 }, 11);
    const creates = log.filter((c) => c.op === 'createKernels');
    const share = creates.filter((c) => c.failure !== undefined).length / creates.length;
    expect(creates).toHaveLength(400);
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.36);
  });
});
