/**
 * The manager on the SQL store (PGlite, in memory): the same lifecycle as on MemoryStore. One
 * database for the file (opening PGlite is slow); each test uses its own agent and session ids.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteStore, type SqlStore } from '../src/adapters/store/sql/pglite.js';
import {
  AGENT_CAPACITY,
  createHarness,
  expectNoLeaks,
  HAPPY_PATH,
  type Harness,
  reservedOn,
  runUntil,
  runUntilStatus,
  spec,
  statusPath,
  tick,
  view,
} from './manager-harness.js';

let h: Harness;
let store: SqlStore;
beforeAll(async () => {
  store = await openPgliteStore();
}, 120_000);
afterEach(async () => {
  await expectNoLeaks(h);
});
afterAll(async () => {
  await store.close();
});

describe('manager on PGlite', () => {
  it('takes a session to RUNNING and a terminate to TERMINATED with slots released', async () => {
    h = await createHarness({ store, agents: [{ id: 'x1', capacity: AGENT_CAPACITY }] });
    const id = await h.manager.submit(spec({ id: 'x-s1' }));
    await runUntilStatus(h, id, 'RUNNING');
    expect(statusPath(await view(h, id))).toEqual(HAPPY_PATH);
    expect(await reservedOn(h, 'x1')).toEqual({ cpu: 1000, mem: 1024 });
    await h.manager.terminate(id);
    await runUntilStatus(h, id, 'TERMINATED');
    expect(await reservedOn(h, 'x1')).toEqual({});
    expect(h.agents.liveKernels()).toEqual([]);
  });

  it('reschedules after an agent failure on create and runs on the other agent', async () => {
    h = await createHarness({
      store,
      agents: [
        { id: 'y1', capacity: AGENT_CAPACITY },
        { id: 'y2', capacity: AGENT_CAPACITY },
      ],
    });
    const id = await h.manager.submit(spec({ id: 'y-s1' }));
    await tick(h);
    const first = (await view(h, id)).placement.k0!;
    h.agents.script({
      op: 'createKernels',
      agentId: first,
      failure: { class: 'agent', code: 'agent-unschedulable', message: 'no' },
    });
    await runUntilStatus(h, id, 'RUNNING');
    const session = await view(h, id);
    expect(session.placement.k0).not.toBe(first);
    expect(session.reschedules).toBe(1);
    expect(await reservedOn(h, first)).toEqual({});
  });

  it('keeps an owner to one live session and records the predicate', async () => {
    h = await createHarness({
      store,
      agents: [{ id: 'z1', capacity: AGENT_CAPACITY }],
      limits: { maxConcurrentPerOwner: 1 },
    });
    await h.manager.submit(spec({ id: 'z-s1', owner: 'zoe' }));
    await h.manager.submit(spec({ id: 'z-s2', owner: 'zoe' }));
    await tick(h);
    expect((await view(h, 'z-s1')).status).toBe('SCHEDULED');
    expect((await view(h, 'z-s2')).lastPlacementFailure?.predicate).toBe('concurrency');
    await h.manager.cancel('z-s1');
    await runUntil(h, async () => (await view(h, 'z-s2')).status === 'RUNNING');
    expect(await reservedOn(h, 'z1')).toEqual({ cpu: 1000, mem: 1024 });
  });
});
