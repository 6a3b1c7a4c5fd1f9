/** One measured candidate of a benchmark. */
export interface BenchRow {
  label: string;
  /** Operations per second (the module says what one operation is), median of the samples. */
  opsPerSec: number;
  /** `opsPerSec` divided by the module's baseline row (the baseline itself is 1). */
  ratio: number;
  notes: string;
}

/** What a benchmark module returns: one table. */
export interface BenchReport {
  name: string;
  title: string;
  /** What one operation is, e.g. `transitions`. */
  unit: string;
  /** The label of the row every ratio is relative to. */
  baseline: string;
  rows: BenchRow[];
  /** Free text printed under the table: workload, sample counts, caveats. */
  notes: string[];
}

/** A benchmark module: `bench/run.ts` lists them and runs each in turn. */
export interface BenchModule {
  name: string;
  run(): Promise<BenchReport>;
}
