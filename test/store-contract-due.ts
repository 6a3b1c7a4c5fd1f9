/**
 * The store contract, continued: when timers and outbox rows come due (`nextDue`) and what a
 * round would find to do (`workDue`). `storeContract` runs these with its own store.
 */
import { describe, expect, it } from 'vitest';
import type { Status } from '../src/core/types.js';
import type { StoreTx } from '../src/manager/ports.js';
import type { ContractKit } from './store-contract-queues.js';
import { outboxRow, sessionRow, timerRow, transitionWrite } from './store-rows.js';

/** nextDue and workDue. */
export function dueContract({ tx, insert }: Pick<ContractKit, 'tx' | 'insert'>): void {
  describe('nextDue', () => {
    it('reports nothing for an empty store', async () => {
      expect(await tx((t) => t.nextDue())).toEqual({});
    });

    it('reports the earliest timer and the earliest outbox row, and follows removals', async () => {
      await insert(sessionRow('s1'), {
        timersSet: [timerRow('s1', 'a', 300), timerRow('s1', 'b', 200)],
        outbox: [outboxRow('k1', 40), outboxRow('k2', 30)],
      });
      expect(await tx((t) => t.nextDue())).toEqual({ timer: 200, outbox: 30 });
      await tx(async (t) => {
        await t.finishOutbox('k2');
        await t.apply(
          transitionWrite(sessionRow('s1', { version: 2 }), { timersCancelled: ['b'] }),
        );
      });
      expect(await tx((t) => t.nextDue())).toEqual({ timer: 300, outbox: 40 });
      await tx((t) => t.finishOutbox('k1'));
      expect(await tx((t) => t.nextDue())).toEqual({ timer: 300 });
    });
  });

  describe('workDue', () => {
    const workDue = (now: number, statuses: Status[] = ['PREPARED', 'SCHEDULED']) =>
      tx((t) => (t.workDue as NonNullable<StoreTx['workDue']>).call(t, now, statuses));

    it('finds nothing to do in an empty store', async () => {
      expect(await workDue(0)).toEqual({ timers: false, outbox: false, statuses: [] });
    });

    it('finds a timer or an outbox row from its due time on, and follows removals', async () => {
      await insert(sessionRow('s1', { status: 'SCHEDULED' }), {
        timersSet: [timerRow('s1', 'a', 300)],
        outbox: [outboxRow('k1', 40)],
      });
      expect(await workDue(39)).toEqual({ timers: false, outbox: false, statuses: ['SCHEDULED'] });
      expect(await workDue(40)).toEqual({ timers: false, outbox: true, statuses: ['SCHEDULED'] });
      expect(await workDue(300)).toEqual({ timers: true, outbox: true, statuses: ['SCHEDULED'] });
      await tx(async (t) => {
        await t.finishOutbox('k1');
        await t.apply(
          transitionWrite(sessionRow('s1', { version: 2, status: 'PREPARED' }), {
            timersCancelled: ['a'],
          }),
        );
      });
      expect(await workDue(1_000)).toEqual({
        timers: false,
        outbox: false,
        statuses: ['PREPARED'],
      });
    });

    it('names the statuses asked about that some session is in, in the order asked', async () => {
      await insert(sessionRow('s1', { status: 'RUNNING' }));
      await insert(sessionRow('s2', { status: 'PREPARED' }));
      await insert(sessionRow('s3', { status: 'CANCELLED' }));
      const statuses: Status[] = ['SCHEDULED', 'RUNNING', 'PENDING', 'PREPARED'];
      expect((await workDue(0, statuses)).statuses).toEqual(['RUNNING', 'PREPARED']);
      expect((await workDue(0, [])).statuses).toEqual([]);
    });
  });
}
