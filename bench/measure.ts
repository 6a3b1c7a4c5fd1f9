/** Settings of one measurement (defaults suit a 2-core machine and a ~10 s run per module). */
export interface MeasureOptions {
  /** Time spent running every candidate before any sample is kept, ms. */
  warmupMs: number;
  /** Samples kept per candidate; the median is reported. */
  samples: number;
  /** Minimum duration of one sample, ms (the call count per sample grows to reach it). */
  sampleMs: number;
}

export const DEFAULT_MEASURE: MeasureOptions = { warmupMs: 1_000, samples: 15, sampleMs: 200 };

/** One candidate: `run()` does `opsPerCall` operations (e.g. replays a whole event stream). */
export interface Candidate {
  label: string;
  opsPerCall: number;
  run: () => unknown;
}

/** Median operations per second of each candidate, by label. */
export interface Measured {
  opsPerSec: Map<string, number>;
  /** Relative spread of each candidate's samples: (p75 - p25) / median. */
  spread: Map<string, number>;
}

/**
 * Measures the candidates in one process, interleaved: each round takes one sample of every
 * candidate in turn, so drift (thermal, other load on the machine) hits them alike. A
 * candidate's result is kept alive in `sink` so the work cannot be optimized away.
 */
export function measure(candidates: Candidate[], options = DEFAULT_MEASURE): Measured {
  const calls = candidates.map((candidate) => calibrate(candidate, options));
  const warmupEnd = performance.now() + options.warmupMs;
  while (performance.now() < warmupEnd) {
    candidates.forEach((candidate, i) => {
      timeCalls(candidate, calls[i]!);
    });
  }
  const samples = candidates.map(() => [] as number[]);
  for (let round = 0; round < options.samples; round++) {
    candidates.forEach((candidate, i) => {
      const ms = timeCalls(candidate, calls[i]!);
      samples[i]!.push((calls[i]! * candidate.opsPerCall * 1000) / ms);
    });
  }
  const opsPerSec = new Map<string, number>();
  const spread = new Map<string, number>();
  candidates.forEach((candidate, i) => {
    const sorted = [...samples[i]!].sort((a, b) => a - b);
    const median = quantile(sorted, 0.5);
    opsPerSec.set(candidate.label, median);
    spread.set(candidate.label, (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / median);
  });
  return { opsPerSec, spread };
}

/** Kept so the optimizer must compute every result. */
export let sink: unknown;

function timeCalls(candidate: Candidate, calls: number): number {
  const start = performance.now();
  for (let i = 0; i < calls; i++) sink = candidate.run();
  return performance.now() - start;
}

/** Calls per sample so that one sample lasts at least `sampleMs`. */
function calibrate(candidate: Candidate, options: MeasureOptions): number {
  let calls = 1;
  while (timeCalls(candidate, calls) < options.sampleMs / 4) calls *= 2;
  return Math.max(
    1,
    Math.round((calls * options.sampleMs) / Math.max(1, timeCalls(candidate, calls))),
  );
}

function quantile(sorted: number[], q: number): number {
  const index = (sorted.length - 1) * q;
  const low = Math.floor(index);
  const high = Math.ceil(index);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (index - low);
}

/** A figure rounded, with thousands separators (`20,000`), as the reports print them. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
