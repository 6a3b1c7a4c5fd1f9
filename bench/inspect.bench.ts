/**
 * What inspection costs a replay: the same seeded replay through the manager with inspection
 * off, with a no-op `inspect` hook (the manager's own collection), and streamed to a local
 * inspector server with one WebSocket viewer attached (what `replay --inspect` does with a
 * browser open). Runs are interleaved so load on the machine hits every variant alike.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { SimulatedAgents } from '../src/adapters/agents/simulated.js';
import { runReplay } from '../src/cli/replay.js';
import { type Inspection, startInspection } from '../src/inspect/start.js';
import type { TransitionObserver } from '../src/manager/types.js';
import { generateWorkload } from '../src/workload/generator.js';
import type { BenchModule, BenchRow } from './types.js';

const SESSIONS = 300;
const AGENTS = 60;
const SEED = 1;
/** Measured runs per variant (after one warm-up run of each); the median is reported. */
const RUNS = 7;
const END = 'bench-end';

const LABELS = {
  off: 'inspection off',
  hook: 'no-op inspect hook',
  streamed: 'streamed to a local server + 1 viewer',
} as const;
type Variant = keyof typeof LABELS;

const workload = generateWorkload({ seed: SEED, sessions: SESSIONS, agents: AGENTS });

/** One replay; with `inspect`, timed until the viewer has received everything. */
async function timeRun(inspect?: TransitionObserver, drained?: () => Promise<void>) {
  const started = performance.now();
  await runReplay({
    workload,
    policy: 'guarded',
    seed: SEED,
    makeFleet: (clock, seed) => new SimulatedAgents({ clock, seed, faults: 'light' }),
    ...(inspect ? { inspect } : {}),
  });
  await drained?.();
  return performance.now() - started;
}

/** A viewer that counts messages and waits for an end marker sent after each run. */
async function attachViewer(inspection: Inspection) {
  const socket = new WebSocket(inspection.server.socketUrl);
  let messages = 0;
  let bytes = 0;
  let ends = 0;
  socket.on('message', (data: Buffer) => {
    const text = data.toString();
    if (text.includes(`"${END}"`)) ends += 1;
    else {
      messages += 1;
      bytes += text.length;
    }
  });
  await new Promise((resolve) => socket.once('open', resolve));
  const drained = async () => {
    const target = ends + 1;
    inspection.inspector.inspector.event(END, { type: 'END' });
    while (ends < target) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  return { socket, drained, counts: () => ({ messages, bytes }) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const inspectBench: BenchModule = {
  name: 'inspect',
  async run() {
    const inspection = await startInspection({ port: 0 });
    const viewer = await attachViewer(inspection);
    const run: Record<Variant, () => Promise<number>> = {
      off: () => timeRun(),
      hook: () => timeRun(() => {}),
      streamed: () => timeRun(inspection.inspector.inspect, viewer.drained),
    };
    const times: Record<Variant, number[]> = { off: [], hook: [], streamed: [] };
    const variants = Object.keys(LABELS) as Variant[];
    for (const variant of variants) await run[variant]();
    const perRun = viewer.counts();
    for (let round = 0; round < RUNS; round++) {
      // Rotate the order so no variant always runs right after another.
      for (const variant of [...variants.slice(round % 3), ...variants.slice(0, round % 3)]) {
        times[variant].push(await run[variant]());
      }
    }
    viewer.socket.close();
    await inspection.close();
    const rate = (variant: Variant) => (SESSIONS * 1000) / median(times[variant]);
    const base = rate('off');
    const rows: BenchRow[] = variants.map((variant) => ({
      label: LABELS[variant],
      opsPerSec: rate(variant),
      ratio: rate(variant) / base,
      notes: `median of ${RUNS} runs, ${median(times[variant]).toFixed(0)} ms per run`,
    }));
    return {
      name: 'inspect',
      title: `inspect: replay of ${SESSIONS} sessions with and without inspection`,
      unit: 'sessions',
      baseline: LABELS.off,
      rows,
      notes: [
        `workload: the built-in generator (seed ${SEED}, ${SESSIONS} sessions, ${AGENTS} ` +
          'agents), light faults, guarded policy, memory store; one run = `runReplay` end to end',
        `streamed: ${perRun.messages} messages (${(perRun.bytes / 1e6).toFixed(1)} MB) per run ` +
          'through the local server to one WebSocket viewer; timed until the viewer got the last',
        `runs interleaved in rotating order after one warm-up run of each; wall-clock time`,
      ],
    };
  },
};
