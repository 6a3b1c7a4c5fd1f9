/**
 * Pure arithmetic over slot vectors. Amounts are non-negative integers in each slot's unit, so
 * every operation here is exact. Absent slots count as zero; results never carry zero entries,
 * so two equal vectors have the same keys.
 */
import type { Slots } from './types.js';

const BRAND = Symbol.for('session-lifecycle.SlotsError');

/**
 * A slot vector broke the integer rules: a negative, fractional or non-finite amount, or a
 * subtraction that would go below zero. `field` names the slot (prefixed by the caller's field).
 */
export class SlotsError extends Error {
  readonly code = 'invalid-slots';
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, message: string) {
    super(message);
    this.name = 'SlotsError';
    this.field = field;
    this.value = value;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](candidate: unknown): boolean {
    return typeof candidate === 'object' && candidate !== null && BRAND in candidate;
  }
}

/** Every slot name present in any of the vectors, in first-seen order. */
export function slotKeys(...vectors: Slots[]): string[] {
  const keys = new Set<string>();
  for (const vector of vectors) for (const key of Object.keys(vector)) keys.add(key);
  return [...keys];
}

function amount(vector: Slots, key: string): number {
  return (vector as Record<string, number | undefined>)[key] ?? 0;
}

function compact(entries: [string, number][]): Slots {
  const out: Record<string, number> = {};
  for (const [key, value] of entries) if (value !== 0) out[key] = value;
  return out as Slots;
}

/** The amount of one slot (0 when absent). */
export function slotAmount(vector: Slots, slot: string): number {
  return amount(vector, slot);
}

/** `a + b`, slot by slot. */
export function add(a: Slots, b: Slots): Slots {
  const out: Record<string, number> = {};
  for (const key in a) {
    const value = amount(a, key) + amount(b, key);
    if (value !== 0) out[key] = value;
  }
  for (const key in b) {
    if (key in a) continue;
    const value = amount(b, key);
    if (value !== 0) out[key] = value;
  }
  return out as Slots;
}

/** `a - b`, slot by slot. Throws `SlotsError` if any slot would go below zero. */
export function sub(a: Slots, b: Slots): Slots {
  const entries = slotKeys(a, b).map((key): [string, number] => {
    const left = amount(a, key);
    const right = amount(b, key);
    if (right > left) {
      throw new SlotsError(
        key,
        right,
        `cannot subtract ${right} from ${left} in slot '${key}': the result must not be negative`,
      );
    }
    return [key, left - right];
  });
  return compact(entries);
}

/** Sum of any number of vectors (the zero vector for none). */
export function sum(vectors: Iterable<Slots>): Slots {
  const out: Record<string, number> = {};
  for (const vector of vectors) {
    for (const key in vector) out[key] = (out[key] ?? 0) + amount(vector, key);
  }
  return normalize(out as Slots);
}

/** True when every slot of `need` is at most the same slot of `free`. */
export function fits(need: Slots, free: Slots): boolean {
  return shortfall(need, free) === undefined;
}

/** The first slot where `need` exceeds `free`, with both amounts; undefined when it fits. */
export function shortfall(
  need: Slots,
  free: Slots,
): { slot: string; requested: number; free: number } | undefined {
  for (const key of Object.keys(need)) {
    const requested = amount(need, key);
    const available = amount(free, key);
    if (requested > available) return { slot: key, requested, free: available };
  }
  return undefined;
}

/** True when every slot is zero (or absent). */
export function isZero(vector: Slots): boolean {
  return Object.keys(vector).every((key) => amount(vector, key) === 0);
}

/** True when both vectors have the same amount in every slot (absent = 0). */
export function equals(a: Slots, b: Slots): boolean {
  return slotKeys(a, b).every((key) => amount(a, key) === amount(b, key));
}

/** A copy without zero entries (the canonical form every helper returns). */
export function normalize(vector: Slots): Slots {
  const out: Record<string, number> = {};
  for (const key in vector) {
    const value = amount(vector, key);
    if (value !== 0) out[key] = value;
  }
  return out as Slots;
}

/**
 * Checks that every amount is a non-negative safe integer; returns the vector in canonical form.
 * `field` prefixes the slot name in the error (e.g. `kernels[0].slots`).
 */
export function checkSlots(vector: unknown, field: string): Slots {
  if (typeof vector !== 'object' || vector === null || Array.isArray(vector)) {
    throw new SlotsError(field, vector, `${field} must be an object of slot amounts`);
  }
  for (const [key, value] of Object.entries(vector)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new SlotsError(
        `${field}.${key}`,
        value,
        `${field}.${key} is ${String(value)}: slot amounts must be non-negative integers`,
      );
    }
  }
  return normalize(vector as Slots);
}
