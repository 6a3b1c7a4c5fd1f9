/** Renders a replay report as a plain-text table (pure). */
import { STAGES } from '../core/types.js';
import type { Latency, ReplayReport, RunResult } from './result.js';

type Row = [label: string, ...values: string[]];

/** The report as text: a header line, the table, and for two policies the difference. */
export function formatReport(report: ReplayReport): string {
  const rows: Row[] = [['', ...report.runs.map((run) => run.policy)], ...tableRows(report.runs)];
  const lines = [headline(report), '', ...renderTable(rows)];
  const comparison = compareRuns(report.runs);
  if (comparison) lines.push('', comparison);
  return `${lines.join('\n')}\n`;
}

function headline(report: ReplayReport): string {
  const { source } = report;
  return (
    `replay of ${source.detail} (${source.sessions} sessions, ${source.agents} agents); ` +
    `faults ${report.faults}, seed ${report.seed}, picker ${report.picker}, ` +
    `selector ${report.selector}, store ${report.store}`
  );
}

function tableRows(runs: RunResult[]): Row[] {
  const each = (pick: (run: RunResult) => string) => runs.map(pick);
  return [
    ['sessions', ...each((run) => String(run.sessions))],
    ['rejected at submit', ...each((run) => String(run.rejected.length))],
    ['reached RUNNING', ...each((run) => String(run.reachedRunning))],
    ['status / reason at the end', ...each(() => '')],
    ...outcomeRows(runs),
    ['attempts per stage (sessions)', ...each(() => '')],
    ...attemptRows(runs),
    ['time to RUNNING (virtual)', ...each(() => '')],
    ...latencyRows(runs),
    ['leaked reservations', ...each((run) => String(run.leaks.length))],
    ['orphan kernels', ...each((run) => String(run.orphans.length))],
    ['ended', ...each((run) => run.stop)],
    ['virtual time', ...each((run) => formatDuration(run.virtualMs))],
    ['ticks', ...each((run) => String(run.ticks))],
    ['wall time', ...each((run) => formatDuration(run.wallMs))],
    ['sessions/s (wall)', ...each((run) => String(Math.round(run.sessionsPerSec)))],
  ];
}

function outcomeRows(runs: RunResult[]): Row[] {
  const keys: string[] = [];
  for (const run of runs) {
    for (const outcome of run.outcomes) {
      const key = outcomeKey(outcome.status, outcome.reason);
      if (!keys.includes(key)) keys.push(key);
    }
  }
  return keys.map((key) => [
    `  ${key}`,
    ...runs.map((run) => {
      const found = run.outcomes.find((o) => outcomeKey(o.status, o.reason) === key);
      return String(found?.count ?? 0);
    }),
  ]);
}

function outcomeKey(status: string, reason: string | null): string {
  return reason === null ? status : `${status} ${reason}`;
}

function attemptRows(runs: RunResult[]): Row[] {
  return STAGES.flatMap((stage) => {
    const counts = new Set(runs.flatMap((run) => Object.keys(run.attempts[stage])));
    const ordered = [...counts].sort((a, b) => Number(a) - Number(b));
    return ordered.map(
      (count): Row => [
        `  ${stage} x${count}`,
        ...runs.map((run) => String(run.attempts[stage][count] ?? 0)),
      ],
    );
  });
}

function latencyRows(runs: RunResult[]): Row[] {
  const keys: (keyof Latency)[] = ['p50', 'p95', 'p99', 'max'];
  return keys.map(
    (key): Row => [
      `  ${key}`,
      ...runs.map((run) => (run.timeToRunning ? formatDuration(run.timeToRunning[key]) : '-')),
    ],
  );
}

function compareRuns(runs: RunResult[]): string | undefined {
  const guarded = runs.find((run) => run.policy === 'guarded');
  const seed = runs.find((run) => run.policy === 'seed');
  if (!guarded || !seed) return undefined;
  const more = guarded.reachedRunning - seed.reachedRunning;
  const word = more >= 0 ? 'more' : 'fewer';
  return (
    `guarded brings ${Math.abs(more)} ${word} sessions to RUNNING than seed ` +
    `(${guarded.reachedRunning} vs ${seed.reachedRunning} of ${guarded.sessions})`
  );
}

/** Left-aligned labels, right-aligned values, two spaces between columns. */
export function renderTable(rows: Row[]): string[] {
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!),
      )
      .join('  ')
      .trimEnd(),
  );
}

/** `850 ms`, `12.3 s`, `4.2 min`, `3.1 h`, `2.5 d`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}
