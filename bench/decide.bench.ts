/**
 * Transitions per second of three ways to run the same session lifecycle over the same event
 * stream: `decide` (the chart through XState's pure transition, plus event checks and effect
 * conversion), XState's bare `transition()` on the same chart, and a hand-written switch
 * reducer (`bench/reducer.ts`) with the same context and effects. Before timing, the run checks
 * that `decide` and the reducer end in equal states with equal effects at every step, and that
 * bare XState ends in the same contexts.
 */
import { isDeepStrictEqual } from 'node:util';
import { initialTransition, transition } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import { decide, type SessionSnapshot, start, statusOf, substateOf } from '../src/core/decide.js';
import { measure } from './measure.js';
import { initial, type ReducerState, reduce } from './reducer.js';
import {
  CREATE_RETRY_EVERY,
  type LifecycleStream,
  lifecycleStream,
  PULL_RETRY_EVERY,
} from './stream.js';
import type { BenchModule, BenchReport } from './types.js';

/** Sessions in the stream; each replay runs every event of every session once. */
export const SESSIONS = 200;

const LABELS = {
  reducer: 'hand-written switch reducer',
  decide: 'decide (the chart + checks + effects)',
  xstate: 'xstate transition() (bare)',
} as const;

/** One replay of the stream per candidate; each returns its final states. */
function replays(stream: LifecycleStream) {
  const decideStart = stream.inputs.map((input) => start(input).next);
  const xstateStart = stream.inputs.map((input) => initialTransition(sessionMachine, input)[0]);
  const reducerStart = stream.inputs.map((input) => initial(input).next);
  return {
    decide: () => {
      const states = [...decideStart];
      for (const { session, event } of stream.steps)
        states[session] = decide(states[session]!, event).next;
      return states;
    },
    xstate: () => {
      const states = [...xstateStart];
      for (const { session, event } of stream.steps) {
        states[session] = transition(sessionMachine, states[session]!, event)[0];
      }
      return states;
    },
    reducer: () => {
      const states = [...reducerStart];
      for (const { session, event } of stream.steps)
        states[session] = reduce(states[session]!, event).next;
      return states;
    },
  };
}

/** Throws unless the reducer matches `decide` step by step (effects, status, context). */
export function checkSameLifecycle(stream: LifecycleStream): void {
  const decided: SessionSnapshot[] = [];
  const reduced: ReducerState[] = [];
  stream.inputs.forEach((input, i) => {
    const a = start(input);
    const b = initial(input);
    same(a.effects, b.effects, `start of session ${i}`);
    decided.push(a.next);
    reduced.push(b.next);
  });
  for (const [n, { session, event }] of stream.steps.entries()) {
    const a = decide(decided[session]!, event);
    const b = reduce(reduced[session]!, event);
    same(a.effects, b.effects, `effects of step ${n} (${event.type})`);
    decided[session] = a.next;
    reduced[session] = b.next;
  }
  decided.forEach((snapshot, i) => {
    const state = reduced[i]!;
    same([statusOf(snapshot), substateOf(snapshot)], [state.status, state.substate], `state ${i}`);
    same(snapshot.context, state.context, `context of session ${i}`);
  });
  const bare = replays(stream).xstate();
  for (const [i, snapshot] of bare.entries()) {
    same(snapshot.context, decided[i]!.context, `xstate session ${i}`);
  }
}

function same(a: unknown, b: unknown, what: string): void {
  if (!isDeepStrictEqual(a, b)) {
    const shown = `${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
    throw new Error(`decide bench: the candidates differ in ${what}: ${shown}`);
  }
}

export const decideBench: BenchModule = {
  name: 'decide',
  async run(): Promise<BenchReport> {
    const stream = lifecycleStream(SESSIONS);
    checkSameLifecycle(stream);
    const run = replays(stream);
    const ops = stream.steps.length;
    const measured = measure([
      { label: LABELS.reducer, opsPerCall: ops, run: run.reducer },
      { label: LABELS.decide, opsPerCall: ops, run: run.decide },
      { label: LABELS.xstate, opsPerCall: ops, run: run.xstate },
    ]);
    const base = measured.opsPerSec.get(LABELS.reducer)!;
    const rows = Object.values(LABELS).map((label) => {
      const opsPerSec = measured.opsPerSec.get(label)!;
      const spread = (measured.spread.get(label)! * 100).toFixed(1);
      return { label, opsPerSec, ratio: opsPerSec / base, notes: `IQR ${spread}% of median` };
    });
    return {
      name: 'decide',
      title: `decide: ${ops} events over ${SESSIONS} sessions`,
      unit: 'transitions',
      baseline: LABELS.reducer,
      rows,
      notes: [
        `stream: ${SESSIONS} sessions of 1-2 kernels, PENDING to RUNNING; every ` +
          `${PULL_RETRY_EVERY}th fails its first pull and every ${CREATE_RETRY_EVERY}th its ` +
          'first create (transient), then the backoff timer fires and the retry succeeds',
        'checked before timing: decide and the reducer give equal effects at every step and ' +
          'equal final states; bare xstate ends in the same contexts',
        'one transition = one event applied to one session snapshot; median of 15 interleaved ' +
          'samples of >= 200 ms after 1 s of warm-up, all in one process',
      ],
    };
  },
};
