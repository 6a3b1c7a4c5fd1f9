import { afterEach, describe, expect, it } from 'vitest';
import type { SessionContext } from '../src/core/context.js';
import { AgentBindingError } from '../src/manager/errors.js';
import type { AgentClient, AgentReport } from '../src/manager/ports.js';
import { checkBinding } from '../src/manager/reports.js';
import {
  AGENT_CAPACITY,
  createHarness,
  type Harness,
  runUntilStatus,
  spec,
  tick,
  view,
} from './manager-harness.js';

let h: Harness;
afterEach(async () => {
  await h?.manager.stop();
});

/** The fleet as the manager sees it, plus a way to deliver a report through its listener. */
function capturingReports(agents: AgentClient) {
  const fleet = { deliver: (_report: AgentReport): unknown => undefined };
  const client: AgentClient = {
    pullImages: (effect) => agents.pullImages(effect),
    createKernels: (effect) => agents.createKernels(effect),
    inspectKernels: (effect) => agents.inspectKernels(effect),
    destroyKernels: (effect) => agents.destroyKernels(effect),
    onReport(listener) {
      fleet.deliver = listener;
      agents.onReport(listener);
    },
  };
  return { fleet, client };
}

const agentFailure = {
  class: 'agent',
  code: 'agent-unschedulable',
  message: 'the agent stopped taking kernels',
} as const;

describe('late agent reports after a reschedule', () => {
  async function rescheduled() {
    let captured: ReturnType<typeof capturingReports> | undefined;
    h = await createHarness({
      agents: [
        { id: 'a1', capacity: AGENT_CAPACITY },
        { id: 'a2', capacity: AGENT_CAPACITY },
      ],
      wrapAgents: (agents) => {
        captured = capturingReports(agents);
        return captured.client;
      },
    });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await tick(h);
    const first = (await view(h, id)).placement.k0!;
    h.agents.script({ op: 'createKernels', agentId: first, failure: agentFailure });
    await runUntilStatus(h, id, 'RUNNING');
    expect((await view(h, id)).reschedules).toBe(1);
    return { id, first, deliver: captured!.fleet.deliver };
  }

  it('logs a late report from the fleet at debug, not warn, and changes nothing', async () => {
    const { id, first, deliver } = await rescheduled();
    const before = await view(h, id);
    h.logs.length = 0;
    await deliver({ type: 'image.pulled', agentId: first, sessionId: id, attempt: 1 });
    const rejected = h.logs.filter((entry) => entry.message.includes('report'));
    expect(rejected.map((entry) => [entry.level, entry.message])).toEqual([
      ['debug', 'late report rejected'],
    ]);
    expect(rejected[0]!.fields).toMatchObject({ agentId: first, sessionId: id });
    expect((await view(h, id)).version).toBe(before.version);
  });

  it('still rejects a late report with the typed error when called directly', async () => {
    const { id, first } = await rescheduled();
    const other = first === 'a1' ? 'a2' : 'a1';
    const report: AgentReport = { type: 'image.pulled', agentId: first, sessionId: id, attempt: 1 };
    const rejection = h.manager.receive(report);
    await expect(rejection).rejects.toThrow(AgentBindingError);
    await expect(rejection).rejects.toThrow(
      `agent "${first}" reported on session "s1", which is bound to ${other}; ` +
        'reports are accepted only from the agent a kernel is bound to',
    );
    await expect(rejection).rejects.toMatchObject({ late: true, code: 'agent-binding' });
  });

  it('keeps a report from an unbound agent of a never-rescheduled session a warning', async () => {
    let captured: ReturnType<typeof capturingReports> | undefined;
    h = await createHarness({
      agents: [
        { id: 'a1', capacity: AGENT_CAPACITY },
        { id: 'a2', capacity: AGENT_CAPACITY },
      ],
      wrapAgents: (agents) => {
        captured = capturingReports(agents);
        return captured.client;
      },
    });
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    const stranger = (await view(h, id)).placement.k0 === 'a1' ? 'a2' : 'a1';
    h.logs.length = 0;
    await captured!.fleet.deliver({
      type: 'image.pulled',
      agentId: stranger,
      sessionId: id,
      attempt: 1,
    });
    const rejected = h.logs.filter((entry) => entry.message.includes('report'));
    expect(rejected.map((entry) => [entry.level, entry.message])).toEqual([
      ['warn', 'report rejected'],
    ]);
  });
});

describe('checkBinding marks late reports', () => {
  const context = (reschedules: number) =>
    ({
      reschedules,
      kernels: [{ id: 'k0', agentId: 'a2', slots: {}, status: 'RUNNING', attempt: 1 }],
    }) as unknown as SessionContext;
  const report: AgentReport = {
    type: 'kernel.started',
    agentId: 'a1',
    sessionId: 's1',
    kernelId: 'k0',
    attempt: 1,
  };

  it('is late once the session was rescheduled, and not before', () => {
    const lateness = (reschedules: number) => {
      try {
        checkBinding(report, context(reschedules));
      } catch (error) {
        return (error as AgentBindingError).late;
      }
      return undefined;
    };
    expect([lateness(0), lateness(1), lateness(3)]).toEqual([false, true, true]);
  });
});
