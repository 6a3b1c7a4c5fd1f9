/**
 * A built-in synthetic workload, shaped after the openb trace, for replays without a trace.
 * Every distribution is documented in docs/replay.md; in short:
 * - arrivals: a Poisson process (exponential gaps, mean `meanGapMs`);
 * - kernels per session: 1 (85%), 2 (10%), 4 (5%);
 * - GPU per kernel, from openb's pod mix: none 13%, a shared GPU 38% (`cuda.shares` drawn from
 *   openb's most common fractions), one whole GPU 48%, 2/4/8 whole GPUs 1%; whole GPUs are
 *   counted as the trace loader counts them, in `cuda.device` and in `cuda.shares` (1000 per
 *   GPU), so shared and whole GPUs never add up to more than an agent has;
 * - CPU per kernel 2/4/8/12 cores (30/30/25/15%), memory 4 GiB per core;
 * - owners: 16 users with Zipf(1) weights; images: 4 names, uniform;
 * - agents, from openb's node mix: 8-GPU 45%, 2-GPU 35%, CPU-only 20%.
 */
import type { Slots } from '../core/types.js';
import type { RandomSource } from '../manager/ports.js';
import { seededRandom } from '../policy/random.js';
import { WorkloadOptionError } from './errors.js';
import { exponentialMs, pickWeighted, type Weighted, zipfWeights } from './sample.js';
import {
  SHARES_PER_GPU,
  type Workload,
  type WorkloadAgent,
  type WorkloadSession,
} from './types.js';

export interface GeneratorOptions {
  /** Seed of the generator's PRNG; the same seed gives the same workload. */
  seed: number;
  /** Number of sessions, integer >= 0. */
  sessions: number;
  /** Number of agents, integer >= 1. */
  agents: number;
  /** Mean gap between arrivals, ms. Default 500 (two sessions a second). */
  meanGapMs?: number;
}

/** Agent shapes: openb's three most common node kinds. */
const AGENT_KINDS: Weighted<Slots> = [
  [{ cpu: 96_000, mem: 393_216, 'cuda.device': 8, 'cuda.shares': 8_000 }, 45],
  [{ cpu: 104_000, mem: 524_288, 'cuda.device': 2, 'cuda.shares': 2_000 }, 35],
  [{ cpu: 32_000, mem: 262_144 }, 20],
];

const KERNEL_COUNTS: Weighted<number> = [
  [1, 85],
  [2, 10],
  [4, 5],
];

type GpuKind = 'none' | 'shared' | 'whole' | 'multi';
const GPU_KINDS: Weighted<GpuKind> = [
  ['none', 13],
  ['shared', 38],
  ['whole', 48],
  ['multi', 1],
];

/** openb's most common `gpu_milli` values for shared GPUs, weighted by how often they occur. */
const GPU_SHARES: Weighted<number> = [
  [810, 1078],
  [470, 750],
  [320, 328],
  [650, 253],
  [230, 140],
  [460, 128],
];

const MULTI_GPUS: Weighted<number> = [
  [2, 1],
  [4, 1],
  [8, 1],
];

const CPU_MILLIS: Weighted<number> = [
  [2_000, 30],
  [4_000, 30],
  [8_000, 25],
  [12_000, 15],
];

/** MiB of memory per core requested (openb's median pod asks about 4 GiB per core). */
const MIB_PER_CORE = 4_096;

const OWNERS = zipfWeights(16, 1);
const IMAGES = [
  'cr.backend.ai/stable/python:3.12',
  'cr.backend.ai/stable/python-pytorch:2.4-py312-cuda12.4',
  'cr.backend.ai/stable/python-tensorflow:2.16-py312-cuda12.3',
  'cr.backend.ai/stable/ngc-pytorch:24.07-pytorch2.4-py310-cuda12.5',
] as const;

/** A deterministic workload for `options.seed`; sessions in arrival order. */
export function generateWorkload(options: GeneratorOptions): Workload {
  checkOptions(options);
  const random = seededRandom(options.seed);
  const agents = Array.from({ length: options.agents }, (_, index) => makeAgent(random, index));
  const meanGapMs = options.meanGapMs ?? 500;
  const sessions: WorkloadSession[] = [];
  let arrivalMs = 0;
  for (let index = 0; index < options.sessions; index++) {
    if (index > 0) arrivalMs += exponentialMs(random, meanGapMs);
    sessions.push({ arrivalMs, spec: makeSpec(random, index) });
  }
  return { agents, sessions };
}

function checkOptions(options: GeneratorOptions): void {
  const { seed, sessions, agents, meanGapMs } = options;
  if (!Number.isSafeInteger(seed)) throw new WorkloadOptionError('seed', seed, 'an integer');
  if (!Number.isSafeInteger(sessions) || sessions < 0) {
    throw new WorkloadOptionError('sessions', sessions, 'an integer >= 0');
  }
  if (!Number.isSafeInteger(agents) || agents < 1) {
    throw new WorkloadOptionError('agents', agents, 'an integer >= 1');
  }
  if (meanGapMs !== undefined && !(Number.isFinite(meanGapMs) && meanGapMs >= 0)) {
    throw new WorkloadOptionError('meanGapMs', meanGapMs, 'a number >= 0');
  }
}

function makeAgent(random: RandomSource, index: number): WorkloadAgent {
  const capacity = pickWeighted(random, AGENT_KINDS);
  const gpus = capacity['cuda.device'] ?? 0;
  const kind = gpus === 0 ? 'cpu' : `gpu${gpus}`;
  return { id: `agent-${pad(index, 4)}`, capacity: { ...capacity }, labels: { kind } };
}

function makeSpec(random: RandomSource, index: number): WorkloadSession['spec'] {
  const owner = `user-${pad(pickWeighted(random, OWNERS), 2)}`;
  const image = IMAGES[Math.floor(random() * IMAGES.length)]!;
  const count = pickWeighted(random, KERNEL_COUNTS);
  const kernels = Array.from({ length: count }, () => ({ slots: kernelSlots(random) }));
  return { id: `session-${pad(index, 6)}`, owner, image, kernels };
}

function kernelSlots(random: RandomSource): Slots {
  const cpu = pickWeighted(random, CPU_MILLIS);
  const mem = (cpu / 1000) * MIB_PER_CORE;
  return { cpu, mem, ...gpuSlots(random) };
}

function gpuSlots(random: RandomSource): Slots {
  const kind = pickWeighted(random, GPU_KINDS);
  if (kind === 'shared') return { 'cuda.shares': pickWeighted(random, GPU_SHARES) };
  if (kind === 'whole') return wholeGpus(1);
  if (kind === 'multi') return wholeGpus(pickWeighted(random, MULTI_GPUS));
  return {};
}

/** Whole GPUs take their devices and the same GPUs' worth of shares. */
function wholeGpus(count: number): Slots {
  return { 'cuda.device': count, 'cuda.shares': count * SHARES_PER_GPU };
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
