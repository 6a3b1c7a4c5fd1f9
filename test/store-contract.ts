/**
 * The behaviour every `SessionStore` must have, as one vitest suite. Run it against an
 * implementation with `storeContract('memory', async () => new MemoryStore())`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreInvariantError } from '../src/adapters/store/errors.js';
import type { Status } from '../src/core/types.js';
import type { SessionRow, SessionStore, StoreTx, TransitionWrite } from '../src/manager/ports.js';

import { dueContract } from './store-contract-due.js';
import { queueContract } from './store-contract-queues.js';
import { historyRow, outboxRow, sessionRow, timerRow, transitionWrite } from './store-rows.js';

export { outboxRow, sessionRow, timerRow, transitionWrite } from './store-rows.js';

export function storeContract(
  name: string,
  open: () => Promise<SessionStore>,
  cleanup?: (store: SessionStore) => Promise<void>,
): void {
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    const tx = <T>(work: (t: StoreTx) => Promise<T>) => store.transaction(work);
    const insert = (row: SessionRow, patch: Partial<TransitionWrite> = {}) =>
      tx((t) => t.apply(transitionWrite(row, patch)));

    async function withAgents(): Promise<void> {
      await tx(async (t) => {
        await t.putAgent({ id: 'a1', capacity: { cpu: 4000, mem: 8192 }, schedulable: true });
        await t.putAgent({
          id: 'a2',
          capacity: { cpu: 2000, 'cuda.device': 1 },
          schedulable: true,
        });
      });
    }
    const reservedOn = async (agentId: string) =>
      (await tx((t) => t.agents())).find((a) => a.id === agentId)?.reserved;

    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
      await cleanup?.(store);
    });

    describe('agents', () => {
      it('registers agents with nothing reserved, listed by id', async () => {
        await tx((t) => t.putAgent({ id: 'b', capacity: { cpu: 1 }, schedulable: true }));
        await tx((t) => t.putAgent({ id: 'a', capacity: { mem: 2 }, schedulable: false }));
        expect(await tx((t) => t.agents())).toEqual([
          { id: 'a', capacity: { mem: 2 }, reserved: {}, schedulable: false },
          { id: 'b', capacity: { cpu: 1 }, reserved: {}, schedulable: true },
        ]);
      });

      it('updates capacity and labels on a second putAgent, keeps the reserved', async () => {
        await withAgents();
        await insert(sessionRow('s1'), { reserve: [{ agentId: 'a1', slots: { cpu: 1000 } }] });
        await tx((t) =>
          t.putAgent({
            id: 'a1',
            capacity: { cpu: 8000 },
            schedulable: true,
            labels: { gpu: 'x' },
          }),
        );
        const a1 = (await tx((t) => t.agents())).find((a) => a.id === 'a1');
        expect(a1).toEqual({
          id: 'a1',
          capacity: { cpu: 8000 },
          reserved: { cpu: 1000 },
          schedulable: true,
          labels: { gpu: 'x' },
        });
      });

      it('flips schedulable and refuses an unknown agent with a StoreInvariantError', async () => {
        await withAgents();
        await tx((t) => t.setSchedulable('a2', false));
        const a2 = (await tx((t) => t.agents())).find((a) => a.id === 'a2');
        expect(a2?.schedulable).toBe(false);
        const error = await tx((t) => t.setSchedulable('zz', true)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreInvariantError);
        expect((error as StoreInvariantError).code).toBe('unknown-agent');
        expect((error as StoreInvariantError).message).toBe(
          "setSchedulable names agent 'zz', which is not registered: call putAgent first",
        );
      });
    });

    describe('apply: versions', () => {
      it('inserts a session with expectedVersion 0 and reads it back unchanged', async () => {
        const row = sessionRow('s1', { holds: { a1: { cpu: 5 } }, priority: 3 });
        expect(await insert(row)).toEqual({ ok: true });
        expect(await tx((t) => t.getSessions(['s1', 'missing']))).toEqual([row]);
        expect(await tx((t) => t.statusOf(['s1', 'missing']))).toEqual(
          new Map([['s1', 'PENDING']]),
        );
      });

      it('refuses to insert an id that exists and keeps the first row', async () => {
        await insert(sessionRow('s1'));
        const result = await insert(sessionRow('s1', { owner: 'bob' }));
        expect(result).toEqual({ ok: false, conflict: 'version', actual: 1 });
        expect((await tx((t) => t.getSessions(['s1'])))[0]?.owner).toBe('alice');
      });

      it('updates with the version read and refuses a stale or missing one', async () => {
        await insert(sessionRow('s1'));
        const next = sessionRow('s1', { version: 2, status: 'SCHEDULED', updatedAt: 2000 });
        expect(await tx((t) => t.apply(transitionWrite(next)))).toEqual({ ok: true });
        const stale = sessionRow('s1', { version: 2, status: 'CANCELLED' });
        expect(await tx((t) => t.apply(transitionWrite(stale)))).toEqual({
          ok: false,
          conflict: 'version',
          actual: 2,
        });
        const ghost = sessionRow('nope', { version: 4 });
        expect(await tx((t) => t.apply(transitionWrite(ghost)))).toEqual({
          ok: false,
          conflict: 'version',
          actual: undefined,
        });
        expect(await tx((t) => t.getSessions(['s1']))).toEqual([next]);
      });

      it('keeps nothing of a write refused for its version', async () => {
        await withAgents();
        await insert(sessionRow('s1'));
        const result = await tx((t) =>
          t.apply(
            transitionWrite(sessionRow('s1', { version: 5, status: 'SCHEDULED' }), {
              expectedVersion: 4,
              reserve: [{ agentId: 'a1', slots: { cpu: 1000 } }],
              history: [historyRow('s1', 1, 'PENDING', 'SCHEDULED')],
              outbox: [outboxRow('s1/a1/pull/1', 0)],
              timersSet: [timerRow('s1', 't', 0)],
            }),
          ),
        );
        expect(result).toEqual({ ok: false, conflict: 'version', actual: 1 });
        expect(await reservedOn('a1')).toEqual({});
        expect(await tx((t) => t.history('s1'))).toEqual([]);
        expect(await tx((t) => t.dueOutbox(10_000, 10))).toEqual([]);
        expect(await tx((t) => t.dueTimers(10_000, 10))).toEqual([]);
        expect(await tx((t) => t.statusOf(['s1']))).toEqual(new Map([['s1', 'PENDING']]));
      });

      it('throws StoreInvariantError when the version is not expectedVersion + 1', async () => {
        const write = transitionWrite(sessionRow('s1', { version: 3 }), { expectedVersion: 0 });
        const error = await tx((t) => t.apply(write)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreInvariantError);
        expect((error as StoreInvariantError).code).toBe('bad-version');
        expect((error as Error).message).toBe(
          "session 's1' is written with version 3 but expectedVersion is 0: the next row's " +
            'version must be 1',
        );
        expect(await tx((t) => t.statuses())).toEqual(new Map());
      });
    });

    describe('apply: reservations', () => {
      it('adds reservations and accepts a reservation that fills an agent exactly', async () => {
        await withAgents();
        await insert(sessionRow('s1'), { reserve: [{ agentId: 'a1', slots: { cpu: 1500 } }] });
        const full = { agentId: 'a1', slots: { cpu: 2500, mem: 8192 } };
        expect(await insert(sessionRow('s2'), { reserve: [full] })).toEqual({ ok: true });
        expect(await reservedOn('a1')).toEqual({ cpu: 4000, mem: 8192 });
      });

      it('refuses a reservation over capacity with the exact free amount; keeps none', async () => {
        await withAgents();
        await insert(sessionRow('s1'), { reserve: [{ agentId: 'a1', slots: { cpu: 3000 } }] });
        const result = await insert(sessionRow('s2'), {
          reserve: [{ agentId: 'a1', slots: { mem: 100, cpu: 1001 } }],
          history: [historyRow('s2', 1, 'PENDING', 'SCHEDULED')],
          outbox: [outboxRow('s2/a1/pull/1', 0, 's2')],
        });
        expect(result).toEqual({
          ok: false,
          conflict: 'capacity',
          agentId: 'a1',
          slot: 'cpu',
          requested: 1001,
          free: 1000,
        });
        expect(await reservedOn('a1')).toEqual({ cpu: 3000 });
        expect(await tx((t) => t.getSessions(['s2']))).toEqual([]);
        expect(await tx((t) => t.history('s2'))).toEqual([]);
        expect(await tx((t) => t.dueOutbox(10_000, 10))).toEqual([]);
      });

      it('checks several reservations on one agent in one write together', async () => {
        await withAgents();
        const result = await insert(sessionRow('s1'), {
          reserve: [
            { agentId: 'a2', slots: { cpu: 1500 } },
            { agentId: 'a2', slots: { cpu: 600 } },
          ],
        });
        expect(result).toEqual({
          ok: false,
          conflict: 'capacity',
          agentId: 'a2',
          slot: 'cpu',
          requested: 600,
          free: 500,
        });
        expect(await reservedOn('a2')).toEqual({});
      });

      it('treats a slot the agent lacks as zero capacity', async () => {
        await withAgents();
        const result = await insert(sessionRow('s1'), {
          reserve: [{ agentId: 'a1', slots: { 'cuda.device': 1 } }],
        });
        expect(result).toEqual({
          ok: false,
          conflict: 'capacity',
          agentId: 'a1',
          slot: 'cuda.device',
          requested: 1,
          free: 0,
        });
      });

      it('refuses a reservation on an unknown agent', async () => {
        await withAgents();
        const result = await insert(sessionRow('s1'), {
          reserve: [{ agentId: 'ghost', slots: { cpu: 1 } }],
        });
        expect(result).toEqual({ ok: false, conflict: 'unknown-agent', agentId: 'ghost' });
        expect(await tx((t) => t.statuses())).toEqual(new Map());
      });

      it('refuses a reservation on an unschedulable agent; releasing there works', async () => {
        await withAgents();
        await insert(sessionRow('s1'), { reserve: [{ agentId: 'a1', slots: { cpu: 1000 } }] });
        await tx((t) => t.setSchedulable('a1', false));
        const refused = await insert(sessionRow('s2'), {
          reserve: [
            { agentId: 'a2', slots: { cpu: 500 } },
            { agentId: 'a1', slots: { cpu: 500 } },
          ],
        });
        expect(refused).toEqual({ ok: false, conflict: 'unschedulable', agentId: 'a1' });
        expect([await reservedOn('a1'), await reservedOn('a2')]).toEqual([{ cpu: 1000 }, {}]);
        expect([...(await tx((t) => t.statuses())).keys()]).toEqual(['s1']);
        const released = await tx((t) =>
          t.apply(
            transitionWrite(sessionRow('s1', { version: 2 }), {
              release: [{ agentId: 'a1', slots: { cpu: 1000 } }],
            }),
          ),
        );
        expect(released).toEqual({ ok: true });
        expect(await reservedOn('a1')).toEqual({});
      });

      it('releases exactly, before the reservations of the same write', async () => {
        await withAgents();
        await insert(sessionRow('s1'), { reserve: [{ agentId: 'a2', slots: { cpu: 2000 } }] });
        const next = sessionRow('s1', { version: 2 });
        const result = await tx((t) =>
          t.apply(
            transitionWrite(next, {
              release: [{ agentId: 'a2', slots: { cpu: 2000 } }],
              reserve: [{ agentId: 'a2', slots: { cpu: 1200 } }],
            }),
          ),
        );
        expect(result).toEqual({ ok: true });
        expect(await reservedOn('a2')).toEqual({ cpu: 1200 });
        await tx((t) =>
          t.apply(
            transitionWrite(sessionRow('s1', { version: 3 }), {
              release: [{ agentId: 'a2', slots: { cpu: 1200 } }],
            }),
          ),
        );
        expect(await reservedOn('a2')).toEqual({});
      });

      it('throws StoreInvariantError on a release above the reserved, keeps nothing', async () => {
        await withAgents();
        await insert(sessionRow('s1'), { reserve: [{ agentId: 'a1', slots: { cpu: 100 } }] });
        const write = transitionWrite(sessionRow('s1', { version: 2, status: 'CANCELLED' }), {
          release: [{ agentId: 'a1', slots: { cpu: 101 } }],
        });
        const error = await tx((t) => t.apply(write)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreInvariantError);
        expect((error as StoreInvariantError).code).toBe('release-exceeds-reserved');
        expect((error as StoreInvariantError).field).toBe('release[0].slots.cpu');
        expect((error as Error).message).toBe(
          "release[0] asks agent 'a1' to release 101 of slot 'cpu' but only 100 is reserved: " +
            'a release must return exactly what was reserved',
        );
        expect(await reservedOn('a1')).toEqual({ cpu: 100 });
        expect(await tx((t) => t.statusOf(['s1']))).toEqual(new Map([['s1', 'PENDING']]));
      });
    });

    describe('sessionsOnAgent', () => {
      const on = (agentId: string, statuses: Status[]) =>
        tx((t) => t.sessionsOnAgent(agentId, statuses));
      const live: Status[] = ['SCHEDULED', 'CREATING', 'RUNNING'];

      async function seed(): Promise<void> {
        await insert(sessionRow('s9', { status: 'RUNNING', holds: { a1: { cpu: 1 } } }));
        await insert(
          sessionRow('s10', { status: 'CREATING', holds: { a1: { cpu: 1 }, a2: { mem: 1 } } }),
        );
        await insert(sessionRow('s2', { status: 'RUNNING', holds: { a2: { cpu: 1 } } }));
        await insert(sessionRow('s3', { status: 'SCHEDULED', holds: { a1: { cpu: 1 } } }));
        await insert(sessionRow('s4', { status: 'RUNNING' }));
        await insert(sessionRow('s5', { holds: { a1: { cpu: 1 } } }));
      }

      it('lists by id the sessions in the given statuses whose holds name the agent', async () => {
        await seed();
        expect(await on('a1', live)).toEqual(['s10', 's3', 's9']);
        expect(await on('a1', ['RUNNING', 'CREATING'])).toEqual(['s10', 's9']);
        expect(await on('a2', live)).toEqual(['s10', 's2']);
        expect(await on('a1', ['PENDING'])).toEqual(['s5']);
        expect(await on('a3', live)).toEqual([]);
        expect(await on('toString', live)).toEqual([]);
        expect(await on('a1', [])).toEqual([]);
      });

      it('follows status and hold changes', async () => {
        await seed();
        await tx(async (t) => {
          await t.apply(transitionWrite(sessionRow('s9', { version: 2, status: 'ERROR' })));
          await t.apply(
            transitionWrite(
              sessionRow('s2', { version: 2, status: 'RUNNING', holds: { a1: { cpu: 1 } } }),
            ),
          );
        });
        expect(await on('a1', live)).toEqual(['s10', 's2', 's3']);
        expect(await on('a2', live)).toEqual(['s10']);
      });
    });

    describe('applyMany (when implemented)', () => {
      it('applies writes in order, one result each; a refused write keeps nothing', async (ctx) => {
        const supported = await tx(async (t) => t.applyMany !== undefined);
        if (!supported) ctx.skip();
        await withAgents();
        const results = await tx(async (t) =>
          (t.applyMany as NonNullable<StoreTx['applyMany']>)([
            transitionWrite(sessionRow('s1'), {
              reserve: [{ agentId: 'a2', slots: { cpu: 1500 } }],
            }),
            transitionWrite(sessionRow('s2'), {
              reserve: [{ agentId: 'a2', slots: { cpu: 501 } }],
              outbox: [outboxRow('k2', 1, 's2')],
            }),
            transitionWrite(sessionRow('s3'), {
              reserve: [{ agentId: 'a2', slots: { cpu: 500 } }],
            }),
          ]),
        );
        expect(results).toEqual([
          { ok: true },
          {
            ok: false,
            conflict: 'capacity',
            agentId: 'a2',
            slot: 'cpu',
            requested: 501,
            free: 500,
          },
          { ok: true },
        ]);
        expect(await reservedOn('a2')).toEqual({ cpu: 2000 });
        expect([...(await tx((t) => t.statuses())).keys()].sort()).toEqual(['s1', 's3']);
        expect(await tx((t) => t.dueOutbox(100, 10))).toEqual([]);
      });

      it('keeps nothing of the batch when one write throws', async (ctx) => {
        const supported = await tx(async (t) => t.applyMany !== undefined);
        if (!supported) ctx.skip();
        const error = await tx(async (t) => {
          await t.apply(transitionWrite(sessionRow('s0')));
          const thrown = await (t.applyMany as NonNullable<StoreTx['applyMany']>)([
            transitionWrite(sessionRow('s1')),
            transitionWrite(sessionRow('s2', { version: 7 }), { expectedVersion: 0 }),
          ]).catch((e: unknown) => e);
          return thrown;
        });
        expect((error as StoreInvariantError).code).toBe('bad-version');
        expect(await tx((t) => t.statuses())).toEqual(new Map([['s0', 'PENDING']]));
      });
    });

    queueContract({ tx, insert, withAgents });
    dueContract({ tx, insert });
  });
}
