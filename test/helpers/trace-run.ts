/**
 * Runs a generated trace through `decide`, the way the manager would: the clock only moves
 * forward, armed timers are kept from setTimer / cancelTimer effects and fire as events, and
 * every step is recorded (snapshot before and after, the event, the effects) for the safety
 * rules in `trace-rules.ts` to judge.
 */
import type { SessionInput } from '../../src/core/context.js';
import { decide, start } from '../../src/core/decide.js';
import type { Effect } from '../../src/core/effects.js';
import type { SessionEvent } from '../../src/core/events.js';
import { persist, restore } from '../../src/core/persist.js';
import type { TraceStep } from '../arbitraries.js';
import { eventFor, type SessionView, type TraceEvent, type TraceWorld } from './trace-events.js';

/** A snapshot as `decide` takes and returns it. */
export type Snapshot = ReturnType<typeof restore>;

/** One delivered event and what it did. */
export interface TraceRecord {
  index: number;
  before: Snapshot;
  event: TraceEvent;
  after: Snapshot;
  effects: Effect[];
}

export interface TraceRun {
  input: SessionInput;
  initialEffects: Effect[];
  initial: Snapshot;
  records: TraceRecord[];
  final: Snapshot;
}

export interface RunOptions {
  /** Every `xstate.after.*` event type the chart declares (for stray timers). */
  timerEventTypes: readonly string[];
  /** Persist and restore (through JSON) the snapshot before every event. */
  roundTrip?: boolean;
  /** Stop feeding events once the snapshot is final (default: keep going, to test absorption). */
  stopAtFinal?: boolean;
}

/** The parts of a snapshot the trace generator reads. */
export function viewOf(snapshot: Snapshot): SessionView {
  return snapshot as unknown as SessionView;
}

/** JSON in, JSON out: what a store does to a persisted snapshot. */
export function throughStore(snapshot: Snapshot): Snapshot {
  return restore(JSON.parse(JSON.stringify(persist(snapshot))));
}

function applyTimers(world: TraceWorld, effects: readonly Effect[]): void {
  for (const effect of effects) {
    if (effect.type === 'setTimer') {
      world.timers.set(effect.timerId, { event: effect.event, dueAt: effect.dueAt });
    }
    if (effect.type === 'cancelTimer') world.timers.delete(effect.timerId);
  }
}

/** A fired timer's row is consumed by the manager: forget every armed timer of that event. */
function consumeTimer(world: TraceWorld, event: TraceEvent): void {
  for (const [id, timer] of world.timers) if (timer.event === event.type) world.timers.delete(id);
}

/** Runs `steps` from `input`; steps with nothing to say in the current state are skipped. */
export function runTrace(
  input: SessionInput,
  steps: readonly TraceStep[],
  options: RunOptions,
): TraceRun {
  const begun = start(input);
  const world: TraceWorld = {
    now: input.now,
    timers: new Map(),
    sent: [],
    timerEventTypes: options.timerEventTypes,
  };
  applyTimers(world, begun.effects);
  const records: TraceRecord[] = [];
  let snapshot = begun.next;
  for (const step of steps) {
    if (options.stopAtFinal && isFinal(snapshot)) break;
    const event = eventFor(viewOf(snapshot), step, world);
    if (!event) continue;
    const before = options.roundTrip ? throughStore(snapshot) : snapshot;
    const { next, effects } = decide(before, event as SessionEvent);
    consumeTimer(world, event);
    applyTimers(world, effects);
    world.sent.push(event);
    records.push({ index: records.length, before: snapshot, event, after: next, effects });
    snapshot = next;
  }
  return { input, initialEffects: begun.effects, initial: begun.next, records, final: snapshot };
}

/** True once the session is in TERMINATED, CANCELLED or ERROR. */
export function isFinal(snapshot: Snapshot): boolean {
  return (snapshot as { status: string }).status === 'done';
}

/** Every effect of a run, initial ones first, each with the index of the record that made it. */
export function allEffects(run: TraceRun): { at: number; effect: Effect }[] {
  const out = run.initialEffects.map((effect) => ({ at: -1, effect }));
  for (const record of run.records) {
    for (const effect of record.effects) out.push({ at: record.index, effect });
  }
  return out;
}

/** A compact, readable rendering of a run for failure messages. */
export function describeRun(run: TraceRun): string {
  const lines = run.records.map((record) => {
    const { now: _now, ...event } = record.event as { now?: number };
    const effects = record.effects.map((effect) => effect.type).join(',');
    const to = JSON.stringify(viewOf(record.after).value);
    return `${record.index}: ${JSON.stringify(event)} -> ${to} [${effects}]`;
  });
  return lines.join('\n');
}
