/**
 * MemoryStore against a naive model: random transitions (status, holds, timers, outbox), some
 * in transactions that roll back, must leave every read exactly as the model computes it. This
 * checks the lazy status index, the due-time heaps and the usage totals under churn.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { add, sum } from '../src/core/slots.js';
import type { Slots, Status } from '../src/core/types.js';
import type { OutboxRow, SessionRow, TimerRow } from '../src/manager/ports.js';
import { outboxRow, sessionRow, timerRow, transitionWrite } from './store-contract.js';

const STATUS_POOL: Status[] = ['PENDING', 'SCHEDULED', 'RUNNING', 'CANCELLED'];

type Op =
  | {
      kind: 'write';
      id: number;
      status: Status;
      owner: string;
      agent: string;
      cpu: number;
      at: number;
    }
  | { kind: 'timer'; id: number; timer: number; dueAt: number; cancel: boolean }
  | { kind: 'outbox'; id: number; key: number; dueAt: number }
  | { kind: 'finish'; key: number; retryAt: number | null };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    id: fc.nat(11),
    status: fc.constantFrom(...STATUS_POOL),
    owner: fc.constantFrom('alice', 'bob'),
    agent: fc.constantFrom('a1', 'a2'),
    cpu: fc.nat(3),
    at: fc.nat(5),
  }),
  fc.record({
    kind: fc.constant('timer' as const),
    id: fc.nat(11),
    timer: fc.nat(2),
    dueAt: fc.nat(50),
    cancel: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('outbox' as const),
    id: fc.nat(11),
    key: fc.nat(15),
    dueAt: fc.nat(50),
  }),
  fc.record({
    kind: fc.constant('finish' as const),
    key: fc.nat(15),
    retryAt: fc.option(fc.nat(50), { nil: null }),
  }),
);

/** The model: plain maps, read by sorting everything. */
class Model {
  sessions = new Map<string, SessionRow>();
  timers = new Map<string, TimerRow>();
  outbox = new Map<string, OutboxRow>();

  clone(): Model {
    const copy = new Model();
    copy.sessions = new Map(this.sessions);
    copy.timers = new Map(this.timers);
    copy.outbox = new Map(this.outbox);
    return copy;
  }

  claim(statuses: Status[], limit: number): string[] {
    return [...this.sessions.values()]
      .filter((row) => statuses.includes(row.status))
      .sort((a, b) => a.submittedAt - b.submittedAt || (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map((row) => row.id);
  }

  onAgent(agentId: string, statuses: Status[]): string[] {
    return [...this.sessions.values()]
      .filter((row) => statuses.includes(row.status) && agentId in row.holds)
      .map((row) => row.id)
      .sort((a, b) => (a < b ? -1 : 1));
  }

  usage(statuses: Status[]): Map<string, { sessions: number; slots: Slots }> {
    const out = new Map<string, { sessions: number; slots: Slots }>();
    const rows = [...this.sessions.values()].filter((row) => statuses.includes(row.status));
    for (const row of rows.sort((a, b) => (a.owner < b.owner ? -1 : 1))) {
      const seen = out.get(row.owner) ?? { sessions: 0, slots: {} };
      out.set(row.owner, {
        sessions: seen.sessions + 1,
        slots: add(seen.slots, sum(Object.values(row.holds))),
      });
    }
    return out;
  }
}

const sid = (id: number) => `s${id}`;

/** Applies one op to the store (inside `tx`) and to the model. */
async function step(
  tx: Parameters<Parameters<MemoryStore['transaction']>[0]>[0],
  model: Model,
  op: Op,
) {
  if (op.kind === 'finish') {
    const key = `k${op.key}`;
    const row = model.outbox.get(key);
    if (op.retryAt === null) {
      await tx.finishOutbox(key);
      model.outbox.delete(key);
    } else {
      await tx.retryOutbox(key, op.retryAt);
      if (row) model.outbox.set(key, { ...row, dueAt: op.retryAt, tries: row.tries + 1 });
    }
    return;
  }
  const id = sid(op.id);
  const previous = model.sessions.get(id);
  const version = (previous?.version ?? 0) + 1;
  const base = previous ?? sessionRow(id, { submittedAt: op.kind === 'write' ? op.at : 0 });
  let next: SessionRow = { ...base, version };
  const patch: Parameters<typeof transitionWrite>[1] = {};
  if (op.kind === 'write') {
    next = {
      ...next,
      status: op.status,
      owner: previous?.owner ?? op.owner,
      holds: op.cpu ? { [op.agent]: { cpu: op.cpu } } : {},
    };
  } else if (op.kind === 'timer') {
    const timerId = `t${op.timer}`;
    if (op.cancel) {
      patch.timersCancelled = [timerId];
      model.timers.delete(`${id}/${timerId}`);
    } else {
      patch.timersSet = [timerRow(id, timerId, op.dueAt)];
      model.timers.set(`${id}/${timerId}`, timerRow(id, timerId, op.dueAt));
    }
  } else {
    const key = `k${op.key}`;
    patch.outbox = [outboxRow(key, op.dueAt, id)];
    if (!model.outbox.has(key)) model.outbox.set(key, outboxRow(key, op.dueAt, id));
  }
  expect(await tx.apply(transitionWrite(next, patch))).toEqual({ ok: true });
  model.sessions.set(id, next);
}

async function compare(store: MemoryStore, model: Model): Promise<void> {
  await store.transaction(async (tx) => {
    for (const statuses of [['PENDING'], ['SCHEDULED', 'RUNNING'], STATUS_POOL] as Status[][]) {
      for (const limit of [1, 3, 100]) {
        const claimed = (await tx.claimSessions(statuses, limit)).map((row) => row.id);
        expect(claimed).toEqual(model.claim(statuses, limit));
      }
      expect(await tx.ownerUsage(statuses)).toEqual(model.usage(statuses));
      for (const agentId of ['a1', 'a2']) {
        const onAgent = await tx.sessionsOnAgent(agentId, statuses);
        expect(onAgent).toEqual(model.onAgent(agentId, statuses));
      }
    }
    const timers = [...model.timers.values()].sort(
      (a, b) =>
        a.dueAt - b.dueAt ||
        (a.sessionId < b.sessionId
          ? -1
          : a.sessionId > b.sessionId
            ? 1
            : a.timerId < b.timerId
              ? -1
              : 1),
    );
    const outbox = [...model.outbox.values()].sort(
      (a, b) => a.dueAt - b.dueAt || (a.key < b.key ? -1 : 1),
    );
    for (const now of [0, 20, 1000]) {
      expect(await tx.dueTimers(now, 4)).toEqual(timers.filter((t) => t.dueAt <= now).slice(0, 4));
      expect(await tx.dueOutbox(now, 4)).toEqual(outbox.filter((o) => o.dueAt <= now).slice(0, 4));
    }
    const due: { timer?: number; outbox?: number } = {};
    if (timers[0]) due.timer = timers[0].dueAt;
    if (outbox[0]) due.outbox = outbox[0].dueAt;
    expect(await tx.nextDue()).toEqual(due);
  });
}

describe('MemoryStore against a model', () => {
  it('answers every read like the model through random transitions and rollbacks', async () => {
    const batch = fc.record({ ops: fc.array(opArb, { maxLength: 12 }), rollback: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(
        fc.array(batch, { maxLength: 25 }),
        fc.boolean(),
        async (batches, copyRows) => {
          const store = new MemoryStore({ copyRows });
          let model = new Model();
          for (const { ops, rollback } of batches) {
            const draft = model.clone();
            const undo = new Error('undo');
            const outcome = await store
              .transaction(async (tx) => {
                for (const op of ops) await step(tx, draft, op);
                if (rollback) throw undo;
              })
              .then(
                () => 'committed',
                (error: unknown) => (error === undo ? 'rolled back' : error),
              );
            expect(outcome).toBe(rollback ? 'rolled back' : 'committed');
            if (!rollback) model = draft;
            await compare(store, model);
          }
        },
      ),
      { numRuns: 150, seed: 20_251_203 },
    );
  });
});
