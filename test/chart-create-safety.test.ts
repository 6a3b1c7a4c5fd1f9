/**
 * The create safety rule in its strict form: no `createKernels` while a kernel instance of an
 * earlier request may exist, even one whose destroy was asked for and never confirmed (the
 * case a cleanup timeout used to let through). Checked over the same random traces as
 * properties-decide.test.ts (fixed seed, FC_SEED / FC_RUNS override), plus directed runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import { MAX_CLEANUP_WAITS } from '../machines/session.model.js';
import type { SessionInput } from '../src/core/context.js';
import type { Effect } from '../src/core/effects.js';
import type { SessionEvent } from '../src/core/events.js';
import { sessionInputArb, traceArb } from './arbitraries.js';
import { creating, ev, failure, fx, input, K0, T } from './helpers/chart-kit.js';
import { createOnlyWhenEarlierKernelsGone, KernelLedger } from './helpers/kernel-ledger.js';
import { describeRun, runTrace, type Snapshot, type TraceRun } from './helpers/trace-run.js';

const SEED = Number(process.env.FC_SEED ?? 0x5e55_1001);
const NUM_RUNS = Number(process.env.FC_RUNS ?? 1000);

function timerEventTypes(node: AnyStateNode): string[] {
  const own = node.after.map((transition) => transition.eventType);
  return [...own, ...Object.values(node.states).flatMap(timerEventTypes)];
}
const TIMER_EVENTS = timerEventTypes(sessionMachine.root);

/**
 * Strict: a createKernels is a violation while any instance made before it is not known gone
 * (a destroy that was ordered but not confirmed does not count as gone).
 */
function strictlyNoCreateWhileEarlierMayExist(run: TraceRun): string | null {
  const ledger = new KernelLedger();
  for (const effect of run.initialEffects) ledger.apply(effect, -1);
  for (const record of run.records) {
    ledger.observe(record.event);
    for (const effect of record.effects) {
      const left = ledger.instances.filter((i) => i.createdAt < record.index && !i.gone);
      if (effect.type === 'createKernels' && left.length > 0) {
        const names = left.map((i) => `${i.agentId}/${i.kernelId}@${i.attempt}`).join(', ');
        return (
          `step ${record.index}: createKernels attempt ${effect.attempt} on ` +
          `${effect.agentId} while ${names} may exist`
        );
      }
      ledger.apply(effect, record.index);
    }
  }
  return null;
}

/**
 * The chart-kit session driven into CREATING (its creates are the initial effects), then
 * `events`.
 */
function recorded(events: SessionEvent[], sessionInput: SessionInput = input()): TraceRun {
  const d = creating(sessionInput);
  const initial = d.snapshot as unknown as Snapshot;
  const initialEffects = d.last?.effects ?? [];
  const records = events.map((event, index) => {
    const before = d.snapshot as unknown as Snapshot;
    const effects = d.send(event);
    return { index, before, event, after: d.snapshot as unknown as Snapshot, effects };
  });
  return { input: sessionInput, initialEffects, initial, records, final: records.at(-1)!.after };
}

/** A hand-made run: only the events and effects matter to the rules. */
function handMade(steps: [SessionEvent, Effect[]][]): TraceRun {
  const none = undefined as unknown as Snapshot;
  const records = steps.map(([event, effects], index) => ({
    index,
    event,
    effects,
    before: none,
    after: none,
  }));
  return { input: input(), initialEffects: [], initial: none, records, final: none };
}

describe('create safety, strict: no createKernels while an earlier kernel may exist', () => {
  it('flags a create after a destroy that was asked for but never confirmed', () => {
    const run = handMade([
      [ev.start(), [fx.create('a1', [['k0', K0]], 1)]],
      [ev.creating('a1', 'k0', 1), []],
      [ev.createFailed('a1', 1, failure('transient')), [fx.destroy('a1', ['k0'], 1, 1)]],
      [ev.timer(T.createBackoff, 1000), [fx.create('a1', [['k0', K0]], 2)]],
    ]);
    expect(strictlyNoCreateWhileEarlierMayExist(run)).toBe(
      'step 3: createKernels attempt 2 on a1 while a1/k0@1 may exist',
    );
    // the rule of properties-decide.test.ts lets this run through: the destroy was ordered
    expect(createOnlyWhenEarlierKernelsGone(run)).toBeNull();
  });

  it('holds on the chart when every cleanup times out: re-asks, then cleanup-timed-out', () => {
    const timeouts = Array.from({ length: MAX_CLEANUP_WAITS + 1 }, (_, n) =>
      ev.timer(T.cleanupTimeout, 6 + (n + 1) * 30_000),
    );
    const run = recorded([
      ev.creating('a1', 'k0', 1),
      ev.createFailed('a1', 1, failure('transient'), 6),
      ...timeouts,
      ev.timer(T.createBackoff, 200_000),
    ]);
    expect(strictlyNoCreateWhileEarlierMayExist(run)).toBeNull();
    const destroys = run.records
      .flatMap((r) => r.effects)
      .filter((e) => e.type === 'destroyKernels');
    expect(destroys.map((e) => 'key' in e && e.key)).toEqual([
      's1/a1/destroy/1.1',
      's1/a1/destroy/1.2',
      's1/a1/destroy/1.3',
      's1/a1/destroy/1.4',
    ]);
    const final = run.final as unknown as { value: unknown; context: unknown };
    expect(final.value).toBe('CANCELLED');
    expect(final.context).toMatchObject({ reason: 'cleanup-timed-out', holds: {} });
  });

  it('holds on the chart for a two-kernel partial create whose destroy confirms late', () => {
    const two = input(2);
    const run = recorded(
      [
        ev.started('a2', 'k1', 1),
        ev.createFailed('a1', 1, failure('transient'), 6),
        ev.timer(T.cleanupTimeout, 30_006),
        ev.terminated('a2', 'k1', 'CANCELLED', 40_000),
        ev.timer(T.createBackoff, 41_000),
      ],
      two,
    );
    expect(run.initialEffects.filter((e) => e.type === 'createKernels')).toHaveLength(2);
    expect(strictlyNoCreateWhileEarlierMayExist(run)).toBeNull();
    expect(run.records.at(-1)?.effects.filter((e) => e.type === 'createKernels')).toHaveLength(2);
  });

  it('holds over random event traces', () => {
    const scenarioArb = fc.record({ input: sessionInputArb, steps: traceArb(40) });
    let waited = 0;
    fc.assert(
      fc.property(scenarioArb, ({ input: sessionInput, steps }) => {
        const run = runTrace(sessionInput, steps, { timerEventTypes: TIMER_EVENTS });
        if (run.records.some((r) => (r.after.context as { cleanupWaits: number }).cleanupWaits))
          waited++;
        const violation = strictlyNoCreateWhileEarlierMayExist(run);
        expect(violation, `${violation}\n(FC_SEED=${SEED})\n${describeRun(run)}`).toBeNull();
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
    // the traces do reach cleanups that time out and ask again
    expect(waited).toBeGreaterThan(0);
  });
});
