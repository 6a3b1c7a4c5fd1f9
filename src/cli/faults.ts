/**
 * Parsing `--faults`: a preset name of the simulated fleet, or explicit rates such as
 * `create.transient=0.05,pull.permanent=0.01,reports.lost=0.01,agent.loss=0.001`.
 */
import { FAULT_PRESETS, type FaultPreset, type FaultRates } from '../adapters/agents/faults.js';
import { FAILURE_CLASSES, type FailureClass } from '../core/types.js';
import { badOption } from './errors.js';

/** What `--faults` asked for. */
export type FaultChoice =
  | { kind: 'preset'; preset: FaultPreset }
  | { kind: 'rates'; rates: FaultRates; text: string };

/** Short operation names accepted before the failure class (`create.transient`). */
const OPERATIONS = {
  pull: 'pullImages',
  create: 'createKernels',
  inspect: 'inspectKernels',
  destroy: 'destroyKernels',
} as const;

/** Rates that are not per operation and class. */
const SINGLE_RATES = {
  'reports.lost': 'lostReports',
  'reports.duplicated': 'duplicatedReports',
  'reports.reordered': 'reorderedReports',
  'agent.loss': 'agentLoss',
} as const;

const RATE_VALUE = /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/;

/** Every rate key `--faults` accepts, for messages and help. */
export const FAULT_RATE_KEYS: string[] = [
  ...Object.keys(OPERATIONS).flatMap((op) => FAILURE_CLASSES.map((c) => `${op}.${c}`)),
  ...Object.keys(SINGLE_RATES),
];

/** Parses the option's text; a `CliOptionError` naming `--faults` on anything else. */
export function parseFaults(text: string): FaultChoice {
  const trimmed = text.trim();
  if (Object.hasOwn(FAULT_PRESETS, trimmed)) {
    return { kind: 'preset', preset: trimmed as FaultPreset };
  }
  const rates: FaultRates = {};
  for (const part of trimmed.split(',')) {
    const [key = '', value, ...extra] = part.split('=').map((piece) => piece.trim());
    if (value === undefined || extra.length > 0) throw badFaults(text);
    if (!RATE_VALUE.test(value)) {
      throw badOption('--faults', text, `a rate from 0 to 1 for '${key}', got '${value}'`);
    }
    setRate(rates, key, Number(value), text);
  }
  return { kind: 'rates', rates, text: trimmed };
}

function setRate(rates: FaultRates, key: string, rate: number, text: string): void {
  if (Object.hasOwn(SINGLE_RATES, key)) {
    rates[SINGLE_RATES[key as keyof typeof SINGLE_RATES]] = rate;
    return;
  }
  const [op = '', failureClass = ''] = key.split('.');
  const known = Object.hasOwn(OPERATIONS, op) && FAILURE_CLASSES.includes(failureClass as never);
  if (!known || key.split('.').length !== 2) {
    throw badOption(
      '--faults',
      text,
      `rate keys among ${FAULT_RATE_KEYS.join(', ')}; got '${key}'`,
    );
  }
  const name = OPERATIONS[op as keyof typeof OPERATIONS];
  rates[name] = { ...rates[name], [failureClass as FailureClass]: rate };
}

/** How a choice is shown in reports: the preset name, or the rates as given. */
export function describeFaults(choice: FaultChoice): string {
  return choice.kind === 'preset' ? choice.preset : choice.text;
}

/** What the simulated fleet takes: a preset name or the rates. */
export function fleetFaults(choice: FaultChoice): FaultPreset | FaultRates {
  return choice.kind === 'preset' ? choice.preset : choice.rates;
}

function badFaults(text: string) {
  const presets = Object.keys(FAULT_PRESETS).join(', ');
  return badOption(
    '--faults',
    text,
    `${presets}, or rates like 'create.transient=0.05,pull.permanent=0.01'`,
  );
}
