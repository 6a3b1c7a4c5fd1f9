/**
 * End-to-end replay throughput in memory: a generated workload replayed through the manager,
 * the memory store and the simulated fleet on virtual time (`runReplay`, what
 * `session-lifecycle replay` runs), with no faults and with heavy faults. The baseline, measured
 * in the same run, is the chart alone: `decide` taking the same number of sessions from PENDING
 * to RUNNING over a fixed event stream. The copying `MemoryStore` (rows copied in and out, as a
 * database would) is measured beside the default one that shares rows.
 */
import { performance } from 'node:perf_hooks';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { MemoryStore } from '../src/adapters/store/memory.js';
import { runReplay } from '../src/cli/replay.js';
import type { RunResult } from '../src/cli/result.js';
import { decide, start } from '../src/core/decide.js';
import { generateWorkload } from '../src/workload/generator.js';
import { count } from './measure.js';
import { lifecycleStream } from './stream.js';
import type { BenchModule, BenchReport, BenchRow } from './types.js';

const SESSIONS = 2_000;
const AGENTS = 400;
const SEED = 1;
/** Timed runs per candidate, after one warm-up run of each; the median is reported. */
const RUNS = 3;

const DECIDE = 'decide only (the same number of lifecycles)';

/** One replay candidate: its faults and whether the store copies rows. */
interface ReplayCandidate {
  label: string;
  faults: 'none' | 'heavy';
  copyRows: boolean;
}

const REPLAYS: ReplayCandidate[] = [
  { label: 'replay, faults none', faults: 'none', copyRows: false },
  { label: 'replay, faults heavy', faults: 'heavy', copyRows: false },
  { label: 'replay, faults none, copying store', faults: 'none', copyRows: true },
  { label: 'replay, faults heavy, copying store', faults: 'heavy', copyRows: true },
];

/** Wall and CPU time of one run, and the replay's result when it was one. */
interface Timed {
  ms: number;
  cpuMs: number;
  result?: RunResult;
}

const workload = generateWorkload({ seed: SEED, sessions: SESSIONS, agents: AGENTS });
const stream = lifecycleStream(SESSIONS);

async function timed(work: () => Promise<RunResult | undefined>): Promise<Timed> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  return { ms, cpuMs: (user + system) / 1000, ...(result ? { result } : {}) };
}

/** Every session of the stream from its start through its last event, by `decide` alone. */
async function decideOnly(): Promise<undefined> {
  const states = stream.inputs.map((input) => start(input).next);
  for (const { session, event } of stream.steps) {
    states[session] = decide(states[session]!, event).next;
  }
  return undefined;
}

function replay({ faults, copyRows }: ReplayCandidate): () => Promise<RunResult> {
  return () =>
    runReplay({
      workload,
      policy: 'guarded',
      seed: SEED,
      makeFleet: (clock, seed) => new SimulatedAgents({ clock, seed, faults }),
      makeStore: () => new MemoryStore({ copyRows }),
    });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs every candidate once to warm up, then `RUNS` rounds in rotating order. */
async function measureAll(candidates: [string, () => Promise<RunResult | undefined>][]) {
  const runs = new Map<string, Timed[]>(candidates.map(([label]) => [label, []]));
  for (const [, work] of candidates) await work();
  for (let round = 0; round < RUNS; round++) {
    const shift = round % candidates.length;
    for (const [label, work] of [...candidates.slice(shift), ...candidates.slice(0, shift)]) {
      runs.get(label)!.push(await timed(work));
    }
  }
  return runs;
}

function toRow(label: string, runs: Timed[], base: number): BenchRow {
  const ms = median(runs.map((run) => run.ms));
  const cpuMs = median(runs.map((run) => run.cpuMs));
  const opsPerSec = (SESSIONS * 1000) / ms;
  const cpuRate = count((SESSIONS * 1000) / cpuMs);
  const result = runs[0]!.result;
  const outcome = result
    ? `; ${result.reachedRunning} reached RUNNING, ${result.ticks} ticks, ` +
      `${result.leaks.length + result.orphans.length} leaks`
    : '';
  return {
    label,
    opsPerSec,
    ratio: opsPerSec / base,
    notes: `${ms.toFixed(0)} ms per run (${cpuRate}/s of CPU time)${outcome}`,
  };
}

export const replayBench: BenchModule = {
  name: 'replay',
  async run(): Promise<BenchReport> {
    const candidates: [string, () => Promise<RunResult | undefined>][] = [
      [DECIDE, decideOnly],
      ...REPLAYS.map((candidate): [string, () => Promise<RunResult>] => [
        candidate.label,
        replay(candidate),
      ]),
    ];
    const runs = await measureAll(candidates);
    const base = (SESSIONS * 1000) / median(runs.get(DECIDE)!.map((run) => run.ms));
    return {
      name: 'replay',
      title: `replay: ${SESSIONS} generated sessions end to end, in memory`,
      unit: 'sessions',
      baseline: DECIDE,
      rows: candidates.map(([label]) => toRow(label, runs.get(label)!, base)),
      notes: [
        `workload: the built-in generator (seed ${SEED}, ${SESSIONS} sessions, ${AGENTS} ` +
          'agents, arrivals 500 ms apart on average); guarded policy; one run = `runReplay` ' +
          'end to end (submit, placement, pulls, creates, reports, timers, leak check)',
        `decide only: the ${stream.steps.length} events of the decide benchmark's stream for ` +
          `${SESSIONS} sessions (PENDING to RUNNING, some transient retries) through ` +
          '`decide`, no store, no manager: what the chart alone costs per lifecycle',
        'the default store shares rows (the manager never mutates them); the copying store ' +
          'copies every row in and out as a database driver would',
        `median of ${RUNS} runs per candidate after one warm-up run of each, in rotating ` +
          'order; wall clock, with the CPU-time rate in the notes',
      ],
    };
  },
};
