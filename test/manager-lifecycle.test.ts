import { afterEach, describe, expect, it } from 'vitest';
import {
  createHarness,
  expectNoLeaks,
  HAPPY_PATH,
  type Harness,
  reserved,
  runUntilStatus,
  spec,
  tick,
  view,
} from './manager-harness.js';
import { transitionWrite } from './store-rows.js';

let h: Harness;
afterEach(async () => {
  await expectNoLeaks(h);
});

describe('manager: the happy path', () => {
  it('takes a session from PENDING to RUNNING with one pull and one create', async () => {
    h = await createHarness();
    const id = await h.manager.submit(spec({ id: 's1' }));
    expect(id).toBe('s1');
    expect((await view(h, id)).status).toBe('PENDING');
    await tick(h);
    expect((await view(h, id)).status).toBe('SCHEDULED');
    expect(reserved(h, 'a1')).toEqual({ cpu: 1000, mem: 1024 });
    await runUntilStatus(h, id, 'RUNNING');
    const session = await view(h, id);
    expect(session.substate).toBe('');
    expect(session.placement).toEqual({ k0: 'a1' });
    expect(session.attempts).toEqual({ pull: 1, create: 1 });
    expect(h.agents.calls('pullImages')).toBe(1);
    expect(h.agents.calls('createKernels')).toBe(1);
    expect(session.history.map((row) => row.to)).toEqual(HAPPY_PATH);
  });
});

describe('manager: the schedule stage', () => {
  it('looks past a full batch of sessions it cannot place to newer ones that fit', async () => {
    h = await createHarness({ batchSize: 2 });
    const huge = { kernels: [{ slots: { cpu: 64_000, mem: 1024 } }] };
    await h.manager.submit(spec({ id: 's1', ...huge }));
    await h.manager.submit(spec({ id: 's2', ...huge }));
    await h.manager.submit(spec({ id: 's3' }));
    await tick(h);
    expect((await view(h, 's1')).status).toBe('PENDING');
    expect((await view(h, 's2')).status).toBe('PENDING');
    expect((await view(h, 's3')).status).toBe('SCHEDULED');
    expect(reserved(h, 'a1')).toEqual({ cpu: 1000, mem: 1024 });
    // The next round starts from the oldest again: still PENDING, the newest still placed.
    await tick(h);
    expect((await view(h, 's1')).status).toBe('PENDING');
    expect((await view(h, 's3')).status).toBe('PREPARING');
  });
});

describe('manager: the timer stage', () => {
  it('deletes a due timer whose event the chart ignores, so it fires once', async () => {
    h = await createHarness();
    await h.manager.submit(spec({ id: 's1' }));
    const now = h.clock.now();
    await h.store.transaction(async (tx) => {
      const [row] = await tx.getSessions(['s1']);
      const timer = { sessionId: 's1', timerId: 'stale', event: 'xstate.after.stale', dueAt: now };
      const session = { ...row!, version: row!.version + 1 };
      await tx.apply(transitionWrite(session, { timersSet: [timer] }));
    });
    expect((await tick(h)).timersFired).toBe(1);
    expect(await h.store.transaction((tx) => tx.dueTimers(now, 10))).toEqual([]);
    expect((await tick(h)).timersFired).toBe(0);
    expect((await view(h, 's1')).status).toBe('PREPARING');
  });
});
