/**
 * The store contract, continued: history, transactions, timers, the outbox, claims and
 * per-owner usage (due times are in `store-contract-due.ts`).
 * `storeContract` runs these with its own store and helpers.
 */
import { describe, expect, it } from 'vitest';
import type { Status } from '../src/core/types.js';
import type { SessionRow, StoreTx, TransitionWrite } from '../src/manager/ports.js';
import { historyRow, outboxRow, sessionRow, timerRow, transitionWrite } from './store-rows.js';

/** What the contract sections share: the store under test, as transactions. */
export interface ContractKit {
  tx<T>(work: (t: StoreTx) => Promise<T>): Promise<T>;
  insert(row: SessionRow, patch?: Partial<TransitionWrite>): Promise<unknown>;
  /** Registers agents a1 (4 CPU, 8 GiB) and a2 (2 CPU, one GPU). */
  withAgents(): Promise<void>;
}

/** History, transactions, timers, outbox, claimSessions, ownerUsage and statuses. */
export function queueContract({ tx, insert, withAgents }: ContractKit): void {
  describe('history', () => {
    it('keeps history rows per session in the order written', async () => {
      const first = historyRow('s1', 1, 'PENDING', 'SCHEDULED');
      const second = {
        ...historyRow('s1', 2, 'SCHEDULED', 'CANCELLED'),
        reason: 'user-cancelled',
      };
      await insert(sessionRow('s1'), { history: [first] });
      await insert(sessionRow('s2'), { history: [historyRow('s2', 5, 'PENDING', 'ERROR')] });
      await tx((t) =>
        t.apply(transitionWrite(sessionRow('s1', { version: 2 }), { history: [second] })),
      );
      expect(await tx((t) => t.history('s1'))).toEqual([first, second]);
      expect(await tx((t) => t.history('unknown'))).toEqual([]);
    });
  });

  describe('transactions', () => {
    it('returns what the work returns and commits its writes', async () => {
      const value = await tx(async (t) => {
        await t.apply(transitionWrite(sessionRow('s1')));
        return 42;
      });
      expect(value).toBe(42);
      expect(await tx((t) => t.statuses())).toEqual(new Map([['s1', 'PENDING']]));
    });

    it('rolls back every write of a transaction whose work throws, and rethrows', async () => {
      await withAgents();
      await insert(sessionRow('s0'), {
        reserve: [{ agentId: 'a1', slots: { cpu: 1000 } }],
        outbox: [outboxRow('k0', 5, 's0')],
        timersSet: [timerRow('s0', 't0', 5)],
      });
      const boom = new Error('boom');
      const caught = await tx(async (t) => {
        await t.apply(
          transitionWrite(sessionRow('s1', { status: 'SCHEDULED' }), {
            reserve: [{ agentId: 'a1', slots: { cpu: 2000 } }],
            history: [historyRow('s1', 1, 'PENDING', 'SCHEDULED')],
            outbox: [outboxRow('k1', 1, 's1')],
            timersSet: [timerRow('s1', 't1', 1)],
          }),
        );
        await t.apply(
          transitionWrite(sessionRow('s0', { version: 2, status: 'CANCELLED' }), {
            release: [{ agentId: 'a1', slots: { cpu: 1000 } }],
            timersCancelled: ['t0'],
          }),
        );
        await t.finishOutbox('k0');
        await t.putAgent({ id: 'a3', capacity: { cpu: 1 }, schedulable: true });
        await t.setSchedulable('a1', false);
        throw boom;
      }).catch((e: unknown) => e);
      expect(caught).toBe(boom);
      expect(await tx((t) => t.statuses())).toEqual(new Map([['s0', 'PENDING']]));
      expect(await tx((t) => t.agents())).toEqual([
        {
          id: 'a1',
          capacity: { cpu: 4000, mem: 8192 },
          reserved: { cpu: 1000 },
          schedulable: true,
        },
        { id: 'a2', capacity: { cpu: 2000, 'cuda.device': 1 }, reserved: {}, schedulable: true },
      ]);
      expect(await tx((t) => t.history('s1'))).toEqual([]);
      expect(await tx((t) => t.dueOutbox(100, 10))).toEqual([outboxRow('k0', 5, 's0')]);
      expect(await tx((t) => t.dueTimers(100, 10))).toEqual([timerRow('s0', 't0', 5)]);
      expect(await tx((t) => t.claimSessions(['PENDING'], 10))).toHaveLength(1);
      expect(await tx((t) => t.nextDue())).toEqual({ timer: 5, outbox: 5 });
    });

    it('lets exactly one of two concurrent writers of the same version win', async () => {
      await insert(sessionRow('s1'));
      const write = (status: Status) =>
        tx((t) => t.apply(transitionWrite(sessionRow('s1', { version: 2, status }))));
      const results = await Promise.all([write('SCHEDULED'), write('CANCELLED')]);
      const wins = results.filter((r) => r.ok);
      expect(wins).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, conflict: 'version', actual: 2 }]);
    });
  });

  describe('timers', () => {
    it('lists due timers earliest first, ties by session then timer id, to the limit', async () => {
      await insert(sessionRow('s1'), {
        timersSet: [timerRow('s1', 'b', 50), timerRow('s1', 'a', 50), timerRow('s1', 'late', 900)],
      });
      await insert(sessionRow('s2'), {
        timersSet: [timerRow('s2', 'a', 50), timerRow('s2', 'x', 10)],
      });
      expect(await tx((t) => t.dueTimers(100, 10))).toEqual([
        timerRow('s2', 'x', 10),
        timerRow('s1', 'a', 50),
        timerRow('s1', 'b', 50),
        timerRow('s2', 'a', 50),
      ]);
      expect(await tx((t) => t.dueTimers(100, 2))).toEqual([
        timerRow('s2', 'x', 10),
        timerRow('s1', 'a', 50),
      ]);
      expect(await tx((t) => t.dueTimers(9, 10))).toEqual([]);
    });

    it('replaces a timer set again under the same id and deletes a cancelled one', async () => {
      await insert(sessionRow('s1'), {
        timersSet: [timerRow('s1', 't1', 10), timerRow('s1', 't2', 20)],
      });
      await tx((t) =>
        t.apply(
          transitionWrite(sessionRow('s1', { version: 2 }), {
            timersSet: [timerRow('s1', 't1', 300)],
            timersCancelled: ['t2'],
          }),
        ),
      );
      expect(await tx((t) => t.dueTimers(1000, 10))).toEqual([timerRow('s1', 't1', 300)]);
    });

    it('keeps the new timer when one write cancels and sets the same id', async () => {
      await insert(sessionRow('s1'), { timersSet: [timerRow('s1', 't', 10)] });
      await tx((t) =>
        t.apply(
          transitionWrite(sessionRow('s1', { version: 2 }), {
            timersCancelled: ['t'],
            timersSet: [timerRow('s1', 't', 70)],
          }),
        ),
      );
      expect(await tx((t) => t.dueTimers(1000, 10))).toEqual([timerRow('s1', 't', 70)]);
    });

    it('leaves due timers in place until they are cancelled', async () => {
      await insert(sessionRow('s1'), { timersSet: [timerRow('s1', 't', 10)] });
      await tx((t) => t.dueTimers(100, 10));
      expect(await tx((t) => t.dueTimers(100, 10))).toEqual([timerRow('s1', 't', 10)]);
      await tx((t) =>
        t.apply(transitionWrite(sessionRow('s1', { version: 2 }), { timersCancelled: ['t'] })),
      );
      expect(await tx((t) => t.dueTimers(100, 10))).toEqual([]);
    });
  });

  describe('outbox', () => {
    it('keeps the session version that wrote a row, and reads session heads alone', async () => {
      const row = { ...outboxRow('k1', 5), sessionVersion: 1 };
      await insert(sessionRow('s1'), { outbox: [row] });
      await insert(sessionRow('s2'));
      const moved = { version: 2, status: 'CREATING', substate: 'verifying.waiting' } as const;
      await tx((t) => t.apply(transitionWrite(sessionRow('s2', moved))));
      expect(await tx((t) => t.dueOutbox(100, 10))).toEqual([row]);
      expect(await tx(async (t) => t.headsOf?.(['s2', 'missing', 's1']))).toEqual(
        new Map([
          ['s2', moved],
          ['s1', { version: 1, status: 'PENDING', substate: '' }],
        ]),
      );
    });

    it('lists due rows earliest first to the limit; an existing key stays', async () => {
      await insert(sessionRow('s1'), { outbox: [outboxRow('k2', 20), outboxRow('k1', 5)] });
      await insert(sessionRow('s2'), {
        outbox: [outboxRow('k1', 1, 's2'), outboxRow('k3', 500, 's2')],
      });
      expect(await tx((t) => t.dueOutbox(100, 10))).toEqual([
        outboxRow('k1', 5),
        outboxRow('k2', 20),
      ]);
      expect(await tx((t) => t.dueOutbox(100, 1))).toEqual([outboxRow('k1', 5)]);
    });

    it('removes a finished row and ignores finishing an unknown key', async () => {
      await insert(sessionRow('s1'), { outbox: [outboxRow('k1', 5), outboxRow('k2', 6)] });
      await tx(async (t) => {
        await t.finishOutbox('k1');
        await t.finishOutbox('never');
      });
      expect(await tx((t) => t.dueOutbox(100, 10))).toEqual([outboxRow('k2', 6)]);
    });

    it('moves a retried row to its new due time and counts the try', async () => {
      await insert(sessionRow('s1'), { outbox: [outboxRow('k1', 5), outboxRow('k2', 6)] });
      await tx((t) => t.retryOutbox('k1', 50));
      await tx((t) => t.retryOutbox('missing', 50));
      expect(await tx((t) => t.dueOutbox(10, 10))).toEqual([outboxRow('k2', 6)]);
      expect(await tx((t) => t.dueOutbox(50, 10))).toEqual([
        outboxRow('k2', 6),
        { ...outboxRow('k1', 50), tries: 1 },
      ]);
      await tx((t) => t.retryOutbox('k1', 60));
      expect((await tx((t) => t.dueOutbox(60, 10)))[1]?.tries).toBe(2);
    });

    it('leases due rows: returns them as they were, leaves them due later with a try', async () => {
      await insert(sessionRow('s1'), { outbox: [outboxRow('k2', 20), outboxRow('k1', 5)] });
      await insert(sessionRow('s2'), { outbox: [outboxRow('k3', 500, 's2')] });
      expect(await tx(async (t) => t.leaseOutbox?.(100, 1, 1_000))).toEqual([outboxRow('k1', 5)]);
      expect(await tx(async (t) => t.leaseOutbox?.(100, 10, 2_000))).toEqual([outboxRow('k2', 20)]);
      expect(await tx((t) => t.dueOutbox(999, 10))).toEqual([outboxRow('k3', 500, 's2')]);
      expect(await tx((t) => t.dueOutbox(5_000, 10))).toEqual([
        outboxRow('k3', 500, 's2'),
        { ...outboxRow('k1', 1_000), tries: 1 },
        { ...outboxRow('k2', 2_000), tries: 1 },
      ]);
      // A row leased and finished in one transaction is gone.
      await tx(async (t) => {
        const [row] = (await t.leaseOutbox?.(600, 1, 3_000)) ?? [];
        expect(row).toEqual(outboxRow('k3', 500, 's2'));
        await t.finishOutbox('k3');
      });
      expect((await tx((t) => t.dueOutbox(5_000, 10))).map((row) => row.key)).toEqual(['k1', 'k2']);
    });

    it('accepts the same key again after the row was finished', async () => {
      await insert(sessionRow('s1'), { outbox: [outboxRow('k1', 5)] });
      await tx((t) => t.finishOutbox('k1'));
      await tx((t) =>
        t.apply(
          transitionWrite(sessionRow('s1', { version: 2 }), { outbox: [outboxRow('k1', 9)] }),
        ),
      );
      expect(await tx((t) => t.dueOutbox(100, 10))).toEqual([outboxRow('k1', 9)]);
    });
  });

  describe('claimSessions', () => {
    async function seed(): Promise<void> {
      await insert(sessionRow('s3', { submittedAt: 30 }));
      await insert(sessionRow('s1', { submittedAt: 10 }));
      await insert(sessionRow('s2b', { submittedAt: 20 }));
      await insert(sessionRow('s2a', { submittedAt: 20 }));
      await insert(sessionRow('r1', { submittedAt: 5, status: 'SCHEDULED' }));
      await insert(sessionRow('x1', { submittedAt: 1, status: 'CANCELLED' }));
    }
    const ids = (rows: SessionRow[]) => rows.map((r) => r.id);

    it('claims sessions in the status, oldest first, ties by id, to the limit', async () => {
      await seed();
      expect(ids(await tx((t) => t.claimSessions(['PENDING'], 10)))).toEqual([
        's1',
        's2a',
        's2b',
        's3',
      ]);
      expect(ids(await tx((t) => t.claimSessions(['PENDING'], 2)))).toEqual(['s1', 's2a']);
      expect(await tx((t) => t.claimSessions(['RUNNING'], 10))).toEqual([]);
    });

    it('goes on after a cursor: ties broken by id, the cursor itself left out', async () => {
      await seed();
      const cursorAt = (submittedAt: number, id: string) => ({ submittedAt, id });
      const claim = (cursor: { submittedAt: number; id: string }, limit = 10) =>
        tx((t) => t.claimSessions(['PENDING'], limit, cursor));
      expect(ids(await claim(cursorAt(10, 's1')))).toEqual(['s2a', 's2b', 's3']);
      expect(ids(await claim(cursorAt(20, 's2a'), 1))).toEqual(['s2b']);
      expect(ids(await claim(cursorAt(20, 's2')))).toEqual(['s2a', 's2b', 's3']);
      expect(ids(await claim(cursorAt(15, 'zz')))).toEqual(['s2a', 's2b', 's3']);
      expect(ids(await claim(cursorAt(30, 's3')))).toEqual([]);
      expect(
        ids(await tx((t) => t.claimSessions(['SCHEDULED', 'PENDING'], 2, cursorAt(5, 'r1')))),
      ).toEqual(['s1', 's2a']);
    });

    it('merges several statuses into one oldest-first list', async () => {
      await seed();
      expect(ids(await tx((t) => t.claimSessions(['SCHEDULED', 'PENDING'], 3)))).toEqual([
        'r1',
        's1',
        's2a',
      ]);
    });

    it('follows status changes: a session is claimed only for its current status', async () => {
      await seed();
      await tx((t) =>
        t.apply(
          transitionWrite(sessionRow('s1', { version: 2, submittedAt: 10, status: 'SCHEDULED' })),
        ),
      );
      expect(ids(await tx((t) => t.claimSessions(['PENDING'], 10)))).toEqual(['s2a', 's2b', 's3']);
      expect(ids(await tx((t) => t.claimSessions(['SCHEDULED'], 10)))).toEqual(['r1', 's1']);
      await tx((t) =>
        t.apply(
          transitionWrite(sessionRow('s1', { version: 3, submittedAt: 10, status: 'PENDING' })),
        ),
      );
      expect(ids(await tx((t) => t.claimSessions(['PENDING'], 10)))).toEqual([
        's1',
        's2a',
        's2b',
        's3',
      ]);
    });

    it('keeps order over a thousand sessions inserted out of order', async () => {
      await tx(async (t) => {
        for (let i = 0; i < 1000; i += 1) {
          const at = (i * 7919) % 1000;
          await t.apply(
            transitionWrite(sessionRow(`s${String(i).padStart(4, '0')}`, { submittedAt: at })),
          );
        }
      });
      const claimed = await tx((t) => t.claimSessions(['PENDING'], 1000));
      const times = claimed.map((r) => r.submittedAt);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(claimed).toHaveLength(1000);
      expect(claimed[0]?.submittedAt).toBe(0);
    });
  });

  describe('ownerUsage and statuses', () => {
    it('counts sessions and sums holds per owner among the given statuses', async () => {
      await insert(
        sessionRow('s1', { status: 'RUNNING', holds: { a1: { cpu: 100 }, a2: { cpu: 50 } } }),
      );
      await insert(sessionRow('s2', { status: 'CREATING', holds: { a1: { cpu: 10, mem: 5 } } }));
      await insert(
        sessionRow('s3', { owner: 'bob', status: 'RUNNING', holds: { a1: { mem: 7 } } }),
      );
      await insert(sessionRow('s4', { owner: 'carol', status: 'PENDING' }));
      const usage = await tx((t) => t.ownerUsage(['RUNNING', 'CREATING']));
      expect(usage).toEqual(
        new Map([
          ['alice', { sessions: 2, slots: { cpu: 160, mem: 5 } }],
          ['bob', { sessions: 1, slots: { mem: 7 } }],
        ]),
      );
    });

    it('follows status and hold changes in ownerUsage', async () => {
      await insert(sessionRow('s1', { status: 'RUNNING', holds: { a1: { cpu: 100 } } }));
      await tx((t) =>
        t.apply(transitionWrite(sessionRow('s1', { version: 2, status: 'TERMINATED', holds: {} }))),
      );
      expect(await tx((t) => t.ownerUsage(['RUNNING']))).toEqual(new Map());
      expect(await tx((t) => t.ownerUsage(['TERMINATED']))).toEqual(
        new Map([['alice', { sessions: 1, slots: {} }]]),
      );
    });

    it('lists every session with its status', async () => {
      await insert(sessionRow('s1', { status: 'RUNNING' }));
      await insert(sessionRow('s2'));
      expect(await tx((t) => t.statuses())).toEqual(
        new Map<string, Status>([
          ['s1', 'RUNNING'],
          ['s2', 'PENDING'],
        ]),
      );
    });
  });
}
