/**
 * Placement throughput in memory, in the shape of the Kubernetes scheduler_perf
 * "SchedulingBasic" test at 5,000 nodes: 5,000 agents of 4 CPU / 32 GiB, 1,000 sessions
 * already placed, then 10,000 sessions of 0.1 CPU / 500 MiB placed through `placeBatch`.
 * A full scan of the agents per kernel (`placeBatchNaive`) is measured in the same run.
 */
import { performance } from 'node:perf_hooks';
import type { Slots } from '../src/core/types.js';
import { placeBatch, placeBatchNaive } from '../src/manager/placement/batch.js';
import {
  createSelectorState,
  isPlaced,
  type PendingSession,
  type PlacementResult,
  type PlacementView,
  type SelectorState,
} from '../src/manager/placement/types.js';
import type { AgentRow } from '../src/manager/ports.js';
import type { PickerName, SelectorName } from '../src/manager/types.js';
import { count } from './measure.js';
import type { BenchModule, BenchReport, BenchRow } from './types.js';

/** kube-scheduler's CI floor for SchedulingBasic at 5,000 nodes, pods/s. */
export const KUBE_SCHEDULER_FLOOR = 680;
/** Nomad's C1M challenge: 1,000,000 containers in about 4.4 min, placements/s. */
export const NOMAD_C1M = 3_750;

const AGENTS = 5_000;
const AGENT_CAPACITY: Slots = { cpu: 4_000, mem: 32_768 };
const INITIAL_SESSIONS = 1_000;
const MEASURED_SESSIONS = 10_000;
const SESSION_SLOTS: Slots = { cpu: 100, mem: 500 };
/** The manager's default batch size (sessions per store transaction). */
const MANAGER_BATCH = 500;

type Place = typeof placeBatch;

/** One measured configuration. */
export interface PlacementFigure {
  label: string;
  picker: PickerName;
  selector: SelectorName;
  batchSize: number;
  placed: number;
  ms: number;
  perSecond: number;
  /** Placements per second of this process's CPU time (less sensitive to a busy machine). */
  perCpuSecond: number;
}

function agents(): AgentRow[] {
  return Array.from({ length: AGENTS }, (_, i) => ({
    id: `agent-${String(i).padStart(4, '0')}`,
    capacity: { ...AGENT_CAPACITY },
    reserved: {},
    schedulable: true,
  }));
}

function sessions(prefix: string, count: number): PendingSession[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${String(i).padStart(5, '0')}`,
    owner: `owner-${i % 100}`,
    priority: 0,
    submittedAt: i,
    kernels: [{ id: 'k0', slots: SESSION_SLOTS }],
    dependsOn: [],
    avoid: {},
  }));
}

function view(rows: AgentRow[]): PlacementView {
  return { agents: rows, ownerUsage: new Map(), statusOf: new Map(), limits: {} };
}

/** Applies placements to the agent rows, as the store would after the batch commits. */
function reserve(rows: AgentRow[], results: PlacementResult[]): number {
  const byId = new Map(rows.map((row) => [row.id, row]));
  let placed = 0;
  for (const result of results) {
    if (!isPlaced(result)) continue;
    placed += 1;
    for (const agentId of Object.values(result.placement)) {
      const row = byId.get(agentId)!;
      row.reserved = {
        cpu: (row.reserved.cpu ?? 0) + SESSION_SLOTS.cpu!,
        mem: (row.reserved.mem ?? 0) + SESSION_SLOTS.mem!,
      };
    }
  }
  return placed;
}

function measure(
  label: string,
  place: Place,
  picker: PickerName,
  selector: SelectorName,
  batchSize: number,
): PlacementFigure {
  const rows = agents();
  const state: SelectorState = createSelectorState();
  reserve(rows, place(picker, selector, sessions('warm', INITIAL_SESSIONS), view(rows), state));
  const pending = sessions('s', MEASURED_SESSIONS);
  let placed = 0;
  let ms = 0;
  let cpuMicros = 0;
  for (let from = 0; from < pending.length; from += batchSize) {
    const batch = pending.slice(from, from + batchSize);
    const started = performance.now();
    const cpu = process.cpuUsage();
    const results = place(picker, selector, batch, view(rows), state);
    cpuMicros += process.cpuUsage(cpu).user;
    ms += performance.now() - started;
    placed += reserve(rows, results);
  }
  const perSecond = (placed / ms) * 1000;
  const perCpuSecond = (placed / cpuMicros) * 1e6;
  return { label, picker, selector, batchSize, placed, ms, perSecond, perCpuSecond };
}

/** The median of `runs` measurements. */
function median(runs: number, make: () => PlacementFigure): PlacementFigure {
  const figures = Array.from({ length: runs }, make).sort((a, b) => a.perSecond - b.perSecond);
  return figures[Math.floor(runs / 2)]!;
}

const BASELINE = 'naive scan, fifo, concentrated, batch 10000';

function configurations(): [string, Place, PickerName, SelectorName, number, number][] {
  const all = MEASURED_SESSIONS;
  return [
    ['naive scan', placeBatchNaive, 'fifo', 'concentrated', all, 1],
    ['naive scan', placeBatchNaive, 'fifo', 'dispersed', all, 1],
    ['indexed', placeBatch, 'fifo', 'concentrated', all, 5],
    ['indexed', placeBatch, 'fifo', 'dispersed', all, 5],
    ['indexed', placeBatch, 'fifo', 'roundrobin', all, 5],
    ['indexed', placeBatch, 'drf', 'concentrated', all, 5],
    ['indexed', placeBatch, 'fifo', 'concentrated', MANAGER_BATCH, 5],
    ['indexed', placeBatch, 'fifo', 'dispersed', MANAGER_BATCH, 5],
  ];
}

const labelOf = (figure: PlacementFigure) =>
  `${figure.label}, ${figure.picker}, ${figure.selector}, batch ${figure.batchSize}`;

function toRow(figure: PlacementFigure, baseline: number): BenchRow {
  const kube = (figure.perSecond / KUBE_SCHEDULER_FLOOR).toFixed(1);
  const nomad = (figure.perSecond / NOMAD_C1M).toFixed(1);
  return {
    label: labelOf(figure),
    opsPerSec: figure.perSecond,
    ratio: figure.perSecond / baseline,
    notes:
      `${figure.placed} placed in ${figure.ms.toFixed(1)} ms ` +
      `(${count(figure.perCpuSecond)}/s of CPU time); ` +
      `x${kube} kube floor, x${nomad} Nomad C1M`,
  };
}

/** Measures every configuration (medians of 5 runs, 1 run for the naive scans). */
export function measurePlacement(): PlacementFigure[] {
  return configurations().map(([label, place, picker, selector, batch, runs]) =>
    median(runs, () => measure(label, place, picker, selector, batch)),
  );
}

export const placementBench: BenchModule = {
  name: 'placement',
  async run(): Promise<BenchReport> {
    const figures = measurePlacement();
    const baseline = figures.find((figure) => labelOf(figure) === BASELINE)!.perSecond;
    return {
      name: 'placement',
      title: 'Placement throughput (scheduler_perf shape, in memory)',
      unit: 'placements',
      baseline: BASELINE,
      rows: figures.map((figure) => toRow(figure, baseline)),
      notes: [
        `${AGENTS} agents of cpu=4000 mem=32768; ${INITIAL_SESSIONS} sessions placed first; ` +
          `then ${MEASURED_SESSIONS} sessions of cpu=100 mem=500 through placeBatch.`,
        'Time counts placeBatch calls only (building the batch index included); applying ' +
          'results to the agent rows between batches is not timed.',
        `Reference rates: kube-scheduler CI floor ${KUBE_SCHEDULER_FLOOR} pods/s ` +
          `(SchedulingBasic, 5,000 nodes); Nomad C1M ${NOMAD_C1M} placements/s.`,
        'Indexed rows are the median of 5 runs; the naive scans run once. Rates are wall ' +
          'clock; the CPU-time rate in the notes shows what a busy machine took away.',
      ],
    };
  },
};

export default placementBench;
