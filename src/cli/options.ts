/** Validation of `replay`'s options: raw strings from commander in, typed settings out. */
import {
  parseStoreSpec,
  redactStoreSpec,
  STORE_SPEC_FORMS,
  StoreSpecError,
} from '../adapters/store/open.js';
import { PICKERS, type PickerName, SELECTORS, type SelectorName } from '../manager/types.js';
import { badOption, CliOptionError, optionProblem } from './errors.js';
import { type FaultChoice, parseFaults } from './faults.js';
import { parseInspectOption } from './inspect-option.js';
import type { PolicyChoice } from './result.js';

/** `--policy`: one policy, or both side by side. */
export const POLICY_CHOICES = ['guarded', 'seed', 'both'] as const;

/** pino's level names accepted by `--log-level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Defaults of the options, as commander shows them in `--help`. */
export const REPLAY_DEFAULTS = {
  policy: 'guarded',
  faults: 'none',
  seed: '1',
  picker: 'fifo',
  selector: 'concentrated',
  sessions: '1000',
  agents: '200',
  logLevel: 'warn',
  tick: '1000',
  horizon: '720',
  store: 'memory',
} as const;

/** The options exactly as commander hands them over (strings; `lifetimes` a flag). */
export interface RawReplayOptions {
  pods?: string;
  nodes?: string;
  policy: string;
  faults: string;
  seed: string;
  limit?: string;
  report?: string;
  picker: string;
  selector: string;
  sessions: string;
  agents: string;
  logLevel: string;
  tick: string;
  horizon: string;
  lifetimes?: boolean;
  store?: string;
  /** `--inspect` alone is `true`; with a port, the port's text. */
  inspect?: string | boolean;
}

/** Where the sessions come from. */
export type ReplaySource =
  | { kind: 'openb'; podsPath: string; nodesPath: string; limit?: number }
  | { kind: 'generator'; sessions: number; agents: number; limit?: number };

/** Validated settings of one `replay` invocation. */
export interface ReplaySettings {
  source: ReplaySource;
  policies: PolicyChoice[];
  faults: FaultChoice;
  seed: number;
  reportPath?: string;
  picker: PickerName;
  selector: SelectorName;
  logLevel: LogLevel;
  /** Virtual ms between manager rounds while sessions are moving. */
  tickMs: number;
  /** Virtual ms allowed after the last arrival before the run is cut off. */
  horizonMs: number;
  /** Terminate sessions their trace lifetime after they reach RUNNING. */
  lifetimes: boolean;
  /** Where the sessions are kept: `pglite`, `pglite:DIR` or a `postgres://` URL; absent: memory. */
  store?: string;
  /** Port of the local inspector server (0: any free one); absent when not inspecting. */
  inspectPort?: number;
}

/** Checks every option; throws `CliOptionError` naming the first bad one. */
export function parseReplayOptions(raw: RawReplayOptions): ReplaySettings {
  const settings: ReplaySettings = {
    source: parseSource(raw),
    policies: parsePolicies(raw.policy),
    faults: parseFaults(raw.faults),
    seed: parseInteger('--seed', raw.seed, 0, 2 ** 32 - 1),
    picker: oneOf('--picker', raw.picker, PICKERS),
    selector: oneOf('--selector', raw.selector, SELECTORS),
    logLevel: oneOf('--log-level', raw.logLevel, LOG_LEVELS),
    tickMs: parseInteger('--tick', raw.tick, 1, 3_600_000),
    horizonMs: parseInteger('--horizon', raw.horizon, 1, 100_000) * 3_600_000,
    lifetimes: raw.lifetimes === true,
  };
  const store = raw.store ?? REPLAY_DEFAULTS.store;
  checkStore(store, settings.policies);
  if (store !== 'memory') settings.store = store;
  if (raw.report !== undefined) settings.reportPath = nonEmpty('--report', raw.report);
  const inspectPort = parseInspectOption(raw.inspect);
  if (inspectPort !== undefined) settings.inspectPort = inspectPort;
  return settings;
}

function parseSource(raw: RawReplayOptions): ReplaySource {
  const limit =
    raw.limit === undefined ? undefined : parseInteger('--limit', raw.limit, 1, 10_000_000);
  if (raw.pods === undefined && raw.nodes === undefined) {
    const sessions = parseInteger('--sessions', raw.sessions, 0, 10_000_000);
    const agents = parseInteger('--agents', raw.agents, 1, 1_000_000);
    return { kind: 'generator', sessions, agents, ...(limit === undefined ? {} : { limit }) };
  }
  if (raw.pods === undefined) throw missingPair('--pods', '--nodes');
  if (raw.nodes === undefined) throw missingPair('--nodes', '--pods');
  const podsPath = nonEmpty('--pods', raw.pods);
  const nodesPath = nonEmpty('--nodes', raw.nodes);
  return { kind: 'openb', podsPath, nodesPath, ...(limit === undefined ? {} : { limit }) };
}

/**
 * `--store` must name a store; one that keeps its data (a directory, a server) holds one run's
 * sessions, so `--policy both` needs a store that starts empty for each run.
 */
function checkStore(store: string, policies: PolicyChoice[]): void {
  const shown = redactStoreSpec(store);
  let kept: boolean;
  try {
    const spec = parseStoreSpec(store);
    kept = spec.kind === 'postgres' || (spec.kind === 'pglite' && spec.dataDir !== undefined);
  } catch (error) {
    if (error instanceof StoreSpecError) throw badOption('--store', shown, STORE_SPEC_FORMS);
    throw error;
  }
  if (kept && policies.length > 1) {
    throw optionProblem(
      '--store',
      shown,
      '--policy both runs twice and needs an empty store each time; ' +
        'use memory or pglite (in memory), or run each policy against its own database',
    );
  }
}

function missingPair(missing: string, given: string): CliOptionError {
  const message =
    `${missing} is missing: ${given} needs ${missing} too ` +
    '(or give neither to use the generator)';
  return new CliOptionError(missing, undefined, message);
}

function parsePolicies(text: string): PolicyChoice[] {
  const choice = oneOf('--policy', text, POLICY_CHOICES);
  return choice === 'both' ? ['guarded', 'seed'] : [choice];
}

function oneOf<T extends string>(field: string, text: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw badOption(field, text, `one of ${allowed.join(', ')}`);
}

/** A decimal integer within [min, max]. */
export function parseInteger(field: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
  throw badOption(field, text, `an integer from ${min} to ${max}`);
}

function nonEmpty(field: string, text: string): string {
  if (text.trim() !== '') return text;
  throw badOption(field, text, 'a file path');
}
