import { describe, expect, it } from 'vitest';
import { StoreInvariantError } from '../src/adapters/store/errors.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import type { Status, StoreTx } from '../src/index.js';
import {
  outboxRow,
  sessionRow,
  storeContract,
  timerRow,
  transitionWrite,
} from './store-contract.js';

storeContract('memory', async () => new MemoryStore());
storeContract('memory (shared rows)', async () => new MemoryStore({ copyRows: false }));

describe('MemoryStore', () => {
  it('runs transactions one at a time, in the order they were started', async () => {
    const store = new MemoryStore();
    const order: string[] = [];
    let releaseFirst: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const first = store.transaction(async () => {
      order.push('first:start');
      await gate;
      order.push('first:end');
    });
    const second = store.transaction(async () => {
      order.push('second');
    });
    await Promise.resolve();
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first:start', 'first:end', 'second']);
  });

  it('refuses a transaction object used after its transaction ended', async () => {
    const store = new MemoryStore();
    let leaked: StoreTx | undefined;
    await store.transaction(async (tx) => {
      leaked = tx;
    });
    const error = await leaked?.statuses().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreInvariantError);
    expect((error as StoreInvariantError).message).toBe(
      'statuses was called on a transaction that already ended: use the tx only inside its work',
    );
  });

  it('keeps its own copy of rows: mutating a written or read row changes nothing', async () => {
    const store = new MemoryStore();
    const row = sessionRow('s1', { holds: { a1: { cpu: 1 } } });
    await store.transaction((tx) => tx.apply(transitionWrite(row)));
    row.status = 'ERROR';
    const [read] = await store.transaction((tx) => tx.getSessions(['s1']));
    if (read === undefined) throw new Error('missing row');
    read.holds.a1 = { cpu: 99 };
    const [again] = await store.transaction((tx) => tx.getSessions(['s1']));
    expect(again?.status).toBe('PENDING');
    expect(again?.holds).toEqual({ a1: { cpu: 1 } });
  });

  it('counts what it holds in stats', async () => {
    const store = new MemoryStore();
    await store.transaction(async (tx) => {
      await tx.putAgent({ id: 'a1', capacity: { cpu: 10 }, schedulable: true });
      await tx.apply(
        transitionWrite(sessionRow('s1'), {
          reserve: [{ agentId: 'a1', slots: { cpu: 4 } }],
          outbox: [outboxRow('k1', 1)],
          timersSet: [timerRow('s1', 't', 5), timerRow('s1', 'u', 6)],
          history: [{ sessionId: 's1', at: 1, from: 'PENDING', to: 'SCHEDULED', substate: '' }],
        }),
      );
    });
    expect(store.stats()).toEqual({
      sessions: 1,
      agents: [{ id: 'a1', capacity: { cpu: 10 }, reserved: { cpu: 4 }, schedulable: true }],
      outbox: 1,
      timers: 2,
      historyRows: 1,
    });
  });

  it('keeps claims and due rows exact through heavy churn and rollbacks', async () => {
    const store = new MemoryStore({ copyRows: false });
    const cycle: Status[] = ['PENDING', 'SCHEDULED', 'PREPARING', 'PENDING'];
    const count = 3000;
    await store.transaction(async (tx) => {
      for (let i = 0; i < count; i += 1) {
        const id = `s${String(i).padStart(5, '0')}`;
        await tx.apply(
          transitionWrite(sessionRow(id, { submittedAt: i }), {
            timersSet: [timerRow(id, 'deadline', 1_000_000 + i)],
          }),
        );
      }
    });
    for (let step = 1; step < cycle.length; step += 1) {
      const status = cycle[step] as Status;
      await store.transaction(async (tx) => {
        for (let i = 0; i < count; i += 1) {
          const id = `s${String(i).padStart(5, '0')}`;
          const row = sessionRow(id, { submittedAt: i, status, version: step + 1 });
          await tx.apply(
            transitionWrite(row, {
              timersCancelled: ['deadline'],
              timersSet: [timerRow(id, 'deadline', 100 + i)],
            }),
          );
        }
      });
      await store
        .transaction(async (tx) => {
          const row = sessionRow('s00000', { status: 'ERROR', version: step + 2 });
          await tx.apply(transitionWrite(row, { timersCancelled: ['deadline'] }));
          await tx.claimSessions([status, 'ERROR'], 5);
          throw new Error('undo');
        })
        .catch(() => undefined);
    }
    const claimed = await store.transaction((tx) => tx.claimSessions(['PENDING'], count));
    expect(claimed.map((r) => r.submittedAt)).toEqual([...Array(count).keys()]);
    expect(
      await store.transaction((tx) => tx.claimSessions(['SCHEDULED', 'PREPARING'], 5)),
    ).toEqual([]);
    const due = await store.transaction((tx) => tx.dueTimers(110, 100));
    expect(due.map((t) => t.dueAt)).toEqual([...Array(11).keys()].map((i) => 100 + i));
    expect(await store.transaction((tx) => tx.nextDue())).toEqual({ timer: 100 });
    expect(store.stats().timers).toBe(count);
  });
});
