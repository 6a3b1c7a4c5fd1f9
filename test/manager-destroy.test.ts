/** Destroy answers: only a lost agent counts as "kernels gone"; other failures are retried. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHarness,
  expectNoLeaks,
  type Harness,
  runUntilStatus,
  spec,
  view,
} from './manager-harness.js';

let h: Harness;
afterEach(async () => {
  await expectNoLeaks(h);
});

describe('destroy failures', () => {
  it('retries a destroy refused by a reachable agent until the kernel is gone', async () => {
    h = await createHarness();
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    h.agents.script({
      op: 'destroyKernels',
      failure: { class: 'agent', code: 'agent-unschedulable', message: 'draining' },
    });
    await h.manager.terminate(id);
    await runUntilStatus(h, id, 'TERMINATED');

    const session = await view(h, id);
    expect(session.reason).toBe('user-terminated');
    expect(session.kernels.map((kernel) => [kernel.id, kernel.status])).toEqual([
      ['k0', 'TERMINATED'],
    ]);
    expect(h.agents.calls('destroyKernels')).toBe(2);
    expect(h.agents.liveKernels()).toEqual([]);
  });

  it('counts the kernels gone when the destroy finds the agent lost', async () => {
    h = await createHarness();
    const id = await h.manager.submit(spec({ id: 's1' }));
    await runUntilStatus(h, id, 'RUNNING');
    h.agents.script({
      op: 'destroyKernels',
      failure: { class: 'agent', code: 'agent-lost', message: 'agent gone' },
      performed: true,
    });
    await h.manager.terminate(id);
    await runUntilStatus(h, id, 'TERMINATED');

    const session = await view(h, id);
    expect(session.kernels.map((kernel) => [kernel.id, kernel.status])).toEqual([
      ['k0', 'CANCELLED'],
    ]);
    expect(h.agents.calls('destroyKernels')).toBe(1);
    expect(h.agents.liveKernels()).toEqual([]);
  });
});
