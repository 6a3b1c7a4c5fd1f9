/** The `replay` command: options in, table out, exit code from the leak checks. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { redactStoreSpec } from '../adapters/store/open.js';
import { PICKERS, SELECTORS } from '../manager/types.js';
import { generateWorkload } from '../workload/generator.js';
import { loadOpenbTrace } from '../workload/openb.js';
import type { Workload } from '../workload/types.js';
import { describeFaults, FAULT_RATE_KEYS, fleetFaults } from './faults.js';
import { formatReport } from './format.js';
import { type CliInspection, INSPECT_OPTION, openInspection } from './inspect.js';
import { stderrLogger } from './logging.js';
import {
  LOG_LEVELS,
  POLICY_CHOICES,
  parseReplayOptions,
  type RawReplayOptions,
  REPLAY_DEFAULTS,
  type ReplaySettings,
} from './options.js';
import { startProgress } from './progress.js';
import { runReplay } from './replay.js';
import { hasLeaks, type ReplayReport } from './result.js';
import { simulatedFleet } from './sim.js';
import { openReplayStore } from './store.js';

/** Exit code when a run leaked reservations or left orphan kernels. */
export const LEAK_EXIT_CODE = 1;

/** Adds `replay` to the program; the action sets `process.exitCode`. */
export function registerReplayCommand(program: Command): Command {
  const d = REPLAY_DEFAULTS;
  return program
    .command('replay')
    .description('replay a workload through the manager on virtual time with simulated agents')
    .option('--pods <csv>', 'openb pod list (needs --nodes); without both, the generator runs')
    .option('--nodes <csv>', 'openb node list (needs --pods)')
    .option('--policy <name>', `retry policy: ${POLICY_CHOICES.join(' | ')}`, d.policy)
    .option(
      '--faults <spec>',
      `none | light | heavy, or rates (${FAULT_RATE_KEYS[0]}=0.05,...)`,
      d.faults,
    )
    .option('--seed <n>', 'seed of the generator, the fleet and the manager', d.seed)
    .option('--limit <n>', 'replay only the first n sessions')
    .option('--report <file>', 'also write the results as JSON')
    .option('--picker <name>', `pending-session order: ${PICKERS.join(' | ')}`, d.picker)
    .option('--selector <name>', `agent choice: ${SELECTORS.join(' | ')}`, d.selector)
    .option('--sessions <n>', 'generator: number of sessions', d.sessions)
    .option('--agents <n>', 'generator: number of agents', d.agents)
    .option('--log-level <level>', `stderr log level: ${LOG_LEVELS.join(' | ')}`, d.logLevel)
    .option('--tick <ms>', 'virtual ms between manager rounds while sessions move', d.tick)
    .option('--horizon <hours>', 'virtual hours allowed after the last arrival', d.horizon)
    .option('--lifetimes', 'terminate sessions their trace lifetime after RUNNING')
    .option(
      '--store <spec>',
      'where sessions are kept: memory | pglite | pglite:DIR | postgres://user@host:port/db',
      d.store,
    )
    .option(INSPECT_OPTION.flags, INSPECT_OPTION.description)
    .action(async (raw: RawReplayOptions) => {
      process.exitCode = await replay(parseReplayOptions(raw));
    });
}

/** Runs every requested policy on the same workload; prints the table; returns the exit code. */
export async function replay(settings: ReplaySettings): Promise<number> {
  const { inspectPort, policies } = settings;
  const inspection =
    inspectPort === undefined ? undefined : await openInspection(inspectPort, policies.length);
  try {
    return await replayRuns(settings, inspection);
  } finally {
    await inspection?.close();
  }
}

async function replayRuns(settings: ReplaySettings, inspection?: CliInspection): Promise<number> {
  const logger = stderrLogger(settings.logLevel);
  const workload = await loadWorkload(settings);
  const report: ReplayReport = {
    source: describeSource(settings, workload),
    seed: settings.seed,
    faults: describeFaults(settings.faults),
    picker: settings.picker,
    selector: settings.selector,
    store: redactStoreSpec(settings.store ?? 'memory'),
    runs: [],
  };
  for (const policy of settings.policies) {
    const progress = startProgress(policy, workload.sessions.length);
    const run = await runReplay({
      workload,
      policy,
      seed: settings.seed,
      makeFleet: (clock, seed) => simulatedFleet(clock, seed, fleetFaults(settings.faults)),
      picker: settings.picker,
      selector: settings.selector,
      logger,
      tickMs: settings.tickMs,
      horizonMs: settings.horizonMs,
      lifetimes: settings.lifetimes,
      onProgress: (settled, total) => progress.update(settled, total),
      ...(inspection ? { inspect: inspection.observer(policy) } : {}),
      ...storeOption(settings.store),
    }).finally(() => progress.stop());
    report.runs.push(run);
  }
  process.stdout.write(formatReport(report));
  if (settings.reportPath)
    await writeFile(settings.reportPath, `${JSON.stringify(report, null, 2)}\n`);
  await inspection?.serveUntilStopped();
  return report.runs.some(hasLeaks) ? LEAK_EXIT_CODE : 0;
}

/** The run's store: memory by default, else the one `--store` names (opened per run). */
function storeOption(store: string | undefined) {
  return store === undefined ? {} : { makeStore: () => openReplayStore(store) };
}

async function loadWorkload(settings: ReplaySettings): Promise<Workload> {
  const { source } = settings;
  if (source.kind === 'openb') return loadOpenbTrace(source);
  const sessions = Math.min(source.sessions, source.limit ?? source.sessions);
  return generateWorkload({ seed: settings.seed, sessions, agents: source.agents });
}

function describeSource(settings: ReplaySettings, workload: Workload): ReplayReport['source'] {
  const counts = { sessions: workload.sessions.length, agents: workload.agents.length };
  if (settings.source.kind === 'openb') {
    return { kind: 'openb', detail: 'the openb trace', ...counts };
  }
  return { kind: 'generator', detail: 'the built-in generator', ...counts };
}
