/**
 * Model-based test of the manager (fast-check `commands`): random sequences of submit, tick,
 * agent report delivery, scripted one-off faults, agent loss, kernel exits, cancel, terminate
 * and clock advances, against a memory store and a simulated fleet. After every command the
 * store and the fleet must keep the invariants of `helpers/invariants.ts`; once the faults stop
 * (lost agents come back), every session must reach RUNNING or a final status within a bounded
 * number of ticks.
 *
 * Runs are reproducible: the seed is fixed (override with FC_SEED) and fast-check prints the
 * seed and shrink path of any counterexample.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGENT_OPS, type AgentOp, type ScriptedFault } from '../src/adapters/agents/faults.js';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import {
  AGENT_LOST_CODE,
  FAILURE_CLASSES,
  type Failure,
  FINAL_STATUSES,
  type Slots,
  type Status,
} from '../src/core/types.js';
import { ManualClock } from '../src/manager/clock.js';
import { createSessionManager } from '../src/manager/manager.js';
import {
  SELECTORS,
  type SelectorName,
  type SessionManager,
  type SubmitSpec,
} from '../src/manager/types.js';
import type { RetryPolicy } from '../src/policy/types.js';
import { failureArb } from './arbitraries.js';
import {
  CallRecorder,
  kernelsAccountedFor,
  noAgentOverCapacity,
  readStore,
  reservationsMatchHolds,
} from './helpers/invariants.js';

const SEED = Number(process.env.FC_SEED ?? 0x5e55_1003);
const NUM_RUNS = Number(process.env.FC_MODEL_RUNS ?? 150);
/** Sessions one run submits at most: all of them fit the fleet at once. */
const MAX_SESSIONS = 6;
/** Ticks allowed, after the faults stop, for every session to settle. */
const SETTLE_TICKS = 200;
/** Clock step between settling ticks: larger than any backoff, recheck or report latency. */
const SETTLE_STEP_MS = 30_000;

const AGENTS = ['a0', 'a1', 'a2'] as const;
const CAPACITY: Slots = { cpu: 4000, mem: 16_384 };

const stage = {
  maxAttempts: 3,
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 10_000,
  jitter: 'equal' as const,
  timeoutMs: 120_000,
  recheckMs: 20_000,
};
const policy: RetryPolicy = {
  pull: stage,
  create: { ...stage, timeoutMs: 60_000 },
  rescheduleBudget: 2,
  cleanupTimeoutMs: 30_000,
};

interface Model {
  sessions: string[];
  lost: Set<string>;
}

interface Real {
  clock: ManualClock;
  store: MemoryStore;
  agents: SimulatedAgents;
  manager: SessionManager;
  recorder: CallRecorder;
}

async function setup(selector: SelectorName): Promise<{ model: Model; real: Real }> {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryStore();
  const agents = new SimulatedAgents({ clock, faults: 'none' });
  const recorder = new CallRecorder();
  const manager = createSessionManager({
    store,
    agents: recorder.wrap(agents),
    clock,
    policy,
    selector,
    managerId: 'model',
  });
  for (const id of AGENTS) {
    agents.addAgent({ id, capacity: CAPACITY });
    await manager.registerAgent({ id, capacity: CAPACITY, schedulable: true });
  }
  return {
    model: { sessions: [], lost: new Set() },
    real: { clock, store, agents, manager, recorder },
  };
}

/** Every invariant, after every command: fails with the list of problems found. */
async function checkInvariants(real: Real, after: string): Promise<void> {
  const view = await readStore(real.store);
  const problems = [
    ...reservationsMatchHolds(view),
    ...noAgentOverCapacity(view),
    ...kernelsAccountedFor(view, real.agents.liveKernels(), real.recorder),
  ];
  expect(problems, `after ${after}`).toEqual([]);
}

type Command = fc.AsyncCommand<Model, Real>;

/** A command whose effect is `act`, followed by the invariant checks. */
function command(
  name: string,
  act: (model: Model, real: Real) => Promise<void>,
  check: (model: Readonly<Model>) => boolean = () => true,
): Command {
  return {
    check,
    async run(model, real) {
      await act(model, real);
      await checkInvariants(real, name);
    },
    toString: () => name,
  };
}

async function tick(real: Real): Promise<void> {
  await real.agents.deliverDueAsync(real.clock.now());
  await real.manager.tick();
}

const specArb: fc.Arbitrary<SubmitSpec> = fc.record({
  owner: fc.constantFrom('alice', 'bob'),
  image: fc.constantFrom('python:3.12', 'pytorch:2.4'),
  kernels: fc.array(
    fc.record({
      slots: fc.record({
        cpu: fc.integer({ min: 100, max: 1000 }),
        mem: fc.integer({ min: 64, max: 2048 }),
      }),
    }),
    { minLength: 1, maxLength: 2 },
  ),
});

/** Which calls or reports a fault hits: any agent's (mostly), or one agent's. */
const match = fc.oneof(
  { arbitrary: fc.constant({}), weight: 2 },
  { arbitrary: fc.record({ agentId: fc.constantFrom(...AGENTS) }), weight: 1 },
);
/**
 * Whether a scripted call failure took effect anyway: ambiguous ones did (the simulator's
 * default), and so did a destroy that failed with `AGENT_LOST_CODE`, which the manager reads as
 * "the kernels are gone". Every other destroy failure left the kernels alive, and the manager
 * must retry it until they are gone.
 */
function destroyDone(fault: { op: AgentOp; failure: Failure }): boolean {
  if (fault.failure.class === 'ambiguous') return true;
  return fault.op === 'destroyKernels' && fault.failure.code === AGENT_LOST_CODE;
}

const faultArb: fc.Arbitrary<ScriptedFault> = fc.oneof(
  fc
    .record({ op: fc.constantFrom(...AGENT_OPS), failure: failureArb(FAILURE_CLASSES), m: match })
    .map(({ m, ...fault }) => ({ ...m, ...fault, performed: destroyDone(fault) })),
  fc
    .record({
      dropReport: fc.constantFrom(
        'image.pulled',
        'kernel.creating',
        'kernel.started',
        'kernel.terminated' as const,
      ),
      m: match,
    })
    .map(({ m, ...fault }) => ({ ...m, ...fault })),
  fc
    .record({
      delayReport: fc.constantFrom('image.pulled', 'kernel.started', 'kernel.terminated' as const),
      byMs: fc.integer({ min: 1, max: 90_000 }),
      m: match,
    })
    .map(({ m, ...fault }) => ({ ...m, ...fault })),
  fc
    .record({ slowCreate: fc.integer({ min: 1, max: 120_000 }), m: match })
    .map(({ m, ...fault }) => ({ ...m, ...fault })),
);

const hasSessions = (model: Readonly<Model>) => model.sessions.length > 0;
const pickSession = (model: Model, index: number) => model.sessions[index % model.sessions.length]!;

const submitArb = specArb.map((spec) =>
  command(
    `submit ${JSON.stringify(spec.kernels)}`,
    async (model, real) => {
      model.sessions.push(await real.manager.submit(spec));
    },
    (model) => model.sessions.length < MAX_SESSIONS,
  ),
);

const tickArb = fc.constant(command('tick', (_, real) => tick(real)));

const deliverArb = fc.constant(
  command('deliver reports', async (_, real) => {
    await real.agents.deliverDueAsync(real.clock.now());
  }),
);

const advanceArb = fc.integer({ min: 1, max: 120_000 }).map((ms) =>
  command(`advance ${ms} ms`, async (_, real) => {
    real.clock.advance(ms);
  }),
);

const faultCommandArb = fc.array(faultArb, { minLength: 1, maxLength: 3 }).map((faults) =>
  command(`faults ${JSON.stringify(faults)}`, async (_, real) => {
    for (const fault of faults) real.agents.script(fault);
  }),
);

const loseAgentArb = fc.constantFrom(...AGENTS).map((agentId) =>
  command(
    `lose agent ${agentId}`,
    async (model, real) => {
      model.lost.add(agentId);
      real.agents.loseAgent(agentId);
    },
    (model) => !model.lost.has(agentId) && model.lost.size < AGENTS.length - 1,
  ),
);

const exitKernelArb = fc.nat().map((index) =>
  command(`exit kernel #${index}`, async (_, real) => {
    const live = real.agents.liveKernels();
    const kernel = live[index % Math.max(1, live.length)];
    if (kernel) real.agents.exitKernel(kernel.agentId, kernel.sessionId, kernel.kernelId);
  }),
);

const userEndsArb = fc.record({ index: fc.nat(), cancel: fc.boolean() }).map(({ index, cancel }) =>
  command(
    `${cancel ? 'cancel' : 'terminate'} session #${index}`,
    async (model, real) => {
      const id = pickSession(model, index);
      await (cancel ? real.manager.cancel(id) : real.manager.terminate(id));
    },
    hasSessions,
  ),
);

/** Repeated entries weigh a command up: ticks, clock advances and faults move sessions along. */
const commandsArb = fc.commands(
  [
    submitArb,
    submitArb,
    ...[1, 2, 3, 4, 5].map(() => tickArb),
    deliverArb,
    advanceArb,
    advanceArb,
    faultCommandArb,
    faultCommandArb,
    loseAgentArb,
    exitKernelArb,
    userEndsArb,
  ],
  { maxCommands: 50, size: 'max' },
);

const SETTLED: readonly Status[] = ['RUNNING', ...FINAL_STATUSES];

/**
 * Lost agents come back empty, once their loss has been reported (a loss reported after the
 * agent registered again would rightly take it out of placement for good); then ticks with
 * large clock steps until nothing is in flight.
 */
async function settle(model: Model, real: Real): Promise<Map<string, Status>> {
  await real.agents.deliverDueAsync(real.clock.now());
  for (const agentId of model.lost) {
    real.agents.addAgent({ id: agentId, capacity: CAPACITY });
    await real.manager.registerAgent({ id: agentId, capacity: CAPACITY, schedulable: true });
  }
  let statuses = await real.store.transaction((tx) => tx.statuses());
  for (let i = 0; i < SETTLE_TICKS; i += 1) {
    if ([...statuses.values()].every((status) => SETTLED.includes(status))) break;
    real.clock.advance(SETTLE_STEP_MS);
    await tick(real);
    await checkInvariants(real, `settling tick ${i}`);
    statuses = await real.store.transaction((tx) => tx.statuses());
  }
  return statuses;
}

describe('manager model: invariants after every command', () => {
  it('keeps reservations, capacity and kernel ownership; settles once faults stop', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SELECTORS), commandsArb, async (selector, commands) => {
        const { model, real } = await setup(selector);
        await fc.asyncModelRun(() => ({ model, real }), commands);
        const statuses = await settle(model, real);
        const stuck = [...statuses].filter(([, status]) => !SETTLED.includes(status));
        expect(stuck, `sessions not RUNNING or final after ${SETTLE_TICKS} ticks`).toEqual([]);
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
  });
});
