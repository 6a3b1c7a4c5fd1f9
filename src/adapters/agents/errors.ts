import type { FaultRates } from './faults.js';
import { AGENT_OPS } from './faults.js';

const BRAND = Symbol.for('session-lifecycle.SimulationError');

/** The simulated fleet was configured or driven wrongly; `field` names the input. */
export class SimulationError extends Error {
  readonly code: 'invalid-option' | 'duplicate-agent';
  readonly field: string;

  constructor(code: SimulationError['code'], field: string, message: string) {
    super(message);
    this.name = 'SimulationError';
    this.code = code;
    this.field = field;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && BRAND in candidate;
  }
}

function checkRate(value: unknown, field: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new SimulationError(
      'invalid-option',
      field,
      `${field} is ${String(value)}: a fault rate must be a number from 0 to 1`,
    );
  }
}

/** Checks every rate is in [0, 1] and each operation's classes sum to at most 1. */
export function checkFaultRates(rates: FaultRates): FaultRates {
  for (const op of AGENT_OPS) {
    const classes = rates[op] ?? {};
    let total = 0;
    for (const [name, value] of Object.entries(classes)) {
      checkRate(value, `faults.${op}.${name}`);
      total += value ?? 0;
    }
    if (total > 1 + 1e-9) {
      throw new SimulationError(
        'invalid-option',
        `faults.${op}`,
        `faults.${op} rates sum to ${total}: the classes of one operation must sum to at most 1`,
      );
    }
  }
  for (const name of [
    'lostReports',
    'duplicatedReports',
    'reorderedReports',
    'agentLoss',
  ] as const) {
    checkRate(rates[name], `faults.${name}`);
  }
  return rates;
}

/** Checks a latency is a non-negative finite number of ms. */
export function checkLatency(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new SimulationError(
      'invalid-option',
      field,
      `${field} is ${String(value)}: a latency must be a non-negative number of ms`,
    );
  }
  return value;
}
