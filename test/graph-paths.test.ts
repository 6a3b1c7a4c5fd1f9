/**
 * Graph coverage of the session chart with @xstate/graph: shortest paths, driven by payloaded
 * events derived from each snapshot (right attempts, agents, kernels, every failure class),
 * must reach every state node, and every declared transition must be taken on some path (the
 * shortest path to a state, extended by one event). A state that becomes unreachable or a
 * transition no event can take fails the test by name.
 */
import { getShortestPaths } from '@xstate/graph';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot, AnyStateNode } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import type { SessionInput } from '../src/core/context.js';
import type { Failure, SessionSpec } from '../src/core/types.js';
import type { RetryPolicy } from '../src/policy/types.js';
import {
  allStateNodes,
  declaredTransitions,
  eventsFor,
  FAILURES,
  stateKey,
  traceStep,
  transitionName,
} from './helpers/chart-graph.js';

const T0 = 1_700_000_000_000;
const NOW = T0 + 1_000;

/** Two attempts per stage and one reschedule: enough to reach every "budget spent" branch. */
const roomyPolicy: RetryPolicy = policyWith(2, 1);
/** One attempt, no reschedule: keeps the two-kernel graph small (its own branches are few). */
const leanPolicy: RetryPolicy = policyWith(1, 0);

function policyWith(maxAttempts: number, rescheduleBudget: number): RetryPolicy {
  const stage = {
    maxAttempts,
    initialDelayMs: 1_000,
    multiplier: 2,
    maxDelayMs: 10_000,
    jitter: 'none' as const,
    timeoutMs: 60_000,
    recheckMs: 10_000,
  };
  return {
    pull: stage,
    create: stage,
    rescheduleBudget,
    deadlineMs: 3_600_000,
    cleanupTimeoutMs: 60_000,
  };
}

function input(kernels: number, policy: RetryPolicy): SessionInput {
  const spec: SessionSpec = {
    id: 's1',
    owner: 'alice',
    image: 'python:3.12',
    priority: 0,
    kernels: Array.from({ length: kernels }, (_, i) => ({ id: `k${i}`, slots: { cpu: 1000 } })),
    dependsOn: [],
    submittedAt: T0,
  };
  return { spec, policy, seed: 7, now: T0 };
}

interface Coverage {
  states: Set<string>;
  transitions: Set<string>;
  paths: number;
}

/**
 * Shortest paths to every distinct state (value + guard-relevant context); the states they end
 * in, and the transitions taken (and transient states passed) by extending each path with every
 * event its end state takes.
 */
function cover(kernels: number, policy: RetryPolicy, failures: readonly Failure[]): Coverage {
  const events = (snapshot: AnyMachineSnapshot) => eventsFor(snapshot, NOW, failures);
  const paths = getShortestPaths(sessionMachine, {
    input: input(kernels, policy),
    events,
    serializeState: (snapshot: AnyMachineSnapshot) => stateKey(snapshot),
  });
  const states = new Set<string>();
  const transitions = new Set<string>();
  for (const path of paths) {
    const end = path.state as AnyMachineSnapshot;
    for (const node of end._nodes) states.add(node.id);
    for (const event of end.status === 'active' ? events(end) : []) {
      const step = traceStep(sessionMachine, end, event);
      for (const taken of step.transitions) transitions.add(transitionName(taken));
      for (const id of step.nodes) states.add(id);
    }
  }
  return { states, transitions, paths: paths.length };
}

describe('session chart graph coverage', () => {
  let single: Coverage;
  let double: Coverage;

  beforeAll(() => {
    single = cover(1, roomyPolicy, FAILURES);
    double = cover(2, leanPolicy, FAILURES.slice(0, 1).concat(FAILURES.slice(2)));
  });

  it('finds shortest paths for one- and two-kernel sessions', () => {
    // the one-kernel graph is the larger: its roomier policy retries, reschedules and re-asks
    // cleanup destroys (cleanupWaits) where the two-kernel one gives up at once
    expect(single.paths).toBeGreaterThan(400);
    expect(double.paths).toBeGreaterThan(200);
  });

  it('reaches every state node of the chart', () => {
    const all = allStateNodes(sessionMachine.root).map((node: AnyStateNode) => node.id);
    const reached = new Set([...single.states, ...double.states]);
    expect(all.filter((id) => !reached.has(id))).toEqual([]);
  });

  it('takes every declared transition on some path', () => {
    const taken = new Set([...single.transitions, ...double.transitions]);
    const missing = declaredTransitions(sessionMachine).filter((name) => !taken.has(name));
    expect(missing).toEqual([]);
  });
});
