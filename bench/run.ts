import { decideBench } from './decide.bench.js';
import { inspectBench } from './inspect.bench.js';
import { count } from './measure.js';
import { placementBench } from './placement.bench.js';
import { recoveryBench } from './recovery.bench.js';
import { replayBench } from './replay.bench.js';
import { sqlBench } from './sql.bench.js';
import type { BenchModule, BenchReport } from './types.js';

/** A module that reports printable lines instead of a table. */
interface LinesModule {
  name: string;
  run(): Promise<{ lines: string[] }>;
}

/** Every benchmark module, run in this order. Add a module by adding it here. */
export const BENCHES: (BenchModule | LinesModule)[] = [
  decideBench,
  placementBench,
  inspectBench,
  replayBench,
  sqlBench,
  recoveryBench,
];

/** Renders one report as a Markdown section (a table plus its notes). */
export function renderReport(report: BenchReport): string {
  const rows = report.rows.map(
    (row) => `| ${row.label} | ${count(row.opsPerSec)} | ${row.ratio.toFixed(2)} | ${row.notes} |`,
  );
  return [
    `### ${report.title}`,
    '',
    `| candidate | ${report.unit}/s | ratio vs ${report.baseline} | notes |`,
    '|---|---:|---:|---|',
    ...rows,
    '',
    ...report.notes.map((note) => `- ${note}`),
    '',
  ].join('\n');
}

function renderLines(name: string, lines: string[]): string {
  return [`### ${name}`, '', '```', ...lines, '```', ''].join('\n');
}

/** `--only <name>` picks one module; an unknown name lists the known ones. */
function selected(argv: string[]): (BenchModule | LinesModule)[] {
  const at = argv.indexOf('--only');
  if (at === -1) return BENCHES;
  const name = argv[at + 1];
  const chosen = BENCHES.filter((bench) => bench.name === name);
  if (chosen.length === 0) {
    const known = BENCHES.map((bench) => bench.name).join(', ');
    throw new Error(`--only must name a benchmark (${known}), got ${String(name)}`);
  }
  return chosen;
}

async function main(argv: string[]): Promise<void> {
  process.stdout.write(
    `# Benchmarks (node ${process.version}, ${process.platform}/${process.arch})\n\n`,
  );
  for (const bench of selected(argv)) {
    const report = await bench.run();
    const text = 'rows' in report ? renderReport(report) : renderLines(bench.name, report.lines);
    process.stdout.write(`${text}\n`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
