/**
 * Dense slot vectors for the placement hot path: one integer per slot, in the order agents are
 * ranked by (accelerators first, as Backend.AI's selectors do, then cpu, then memory).
 */
import type { SlotName, Slots } from '../../core/types.js';

/** Slot order of a dense vector; also the priority order of the selectors' ranking. */
export const RANK_ORDER = [
  'cuda.device',
  'cuda.shares',
  'cpu',
  'mem',
] as const satisfies SlotName[];

/** A dense slot vector, indexed like `RANK_ORDER`. */
export type Vec = number[];

/** The dense form of a slot vector (absent slots are zero). */
export function toVec(slots: Slots): Vec {
  return [slots['cuda.device'] ?? 0, slots['cuda.shares'] ?? 0, slots.cpu ?? 0, slots.mem ?? 0];
}

/** The sparse form of a dense vector (zero slots left out). */
export function toSlots(vec: Vec): Slots {
  const slots: Slots = {};
  RANK_ORDER.forEach((slot, i) => {
    if (vec[i]! !== 0) slots[slot] = vec[i]!;
  });
  return slots;
}

/** `capacity - reserved`, never below zero in any slot (an overcommitted slot has none free). */
export function freeVec(capacity: Slots, reserved: Slots): Vec {
  return writeFree([], capacity, reserved);
}

/** `freeVec` written into `into` (reused between batches); returns `into`. */
export function writeFree(into: Vec, capacity: Slots, reserved: Slots): Vec {
  // Named reads, in `RANK_ORDER`: cheaper than looking slots up by a computed key.
  into[0] = Math.max(0, (capacity['cuda.device'] ?? 0) - (reserved['cuda.device'] ?? 0));
  into[1] = Math.max(0, (capacity['cuda.shares'] ?? 0) - (reserved['cuda.shares'] ?? 0));
  into[2] = Math.max(0, (capacity.cpu ?? 0) - (reserved.cpu ?? 0));
  into[3] = Math.max(0, (capacity.mem ?? 0) - (reserved.mem ?? 0));
  return into;
}

/** True when `after` holds more than `before` in some slot. */
export function grows(after: Vec, before: Vec): boolean {
  for (let i = 0; i < after.length; i++) if (after[i]! > before[i]!) return true;
  return false;
}

/** True when both vectors hold the same amounts. */
export function sameVec(a: Vec, b: Vec): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `need` fits in `free` in every slot. */
export function fitsVec(need: Vec, free: Vec): boolean {
  for (let i = 0; i < need.length; i++) if (need[i]! > free[i]!) return false;
  return true;
}

/** True when `a >= b` in every slot. */
export function dominates(a: Vec, b: Vec): boolean {
  return fitsVec(b, a);
}

/** Lexicographic order in `RANK_ORDER`: negative when `a` ranks below `b`. */
export function lexCompare(a: Vec, b: Vec): number {
  for (let i = 0; i < a.length; i++) {
    const diff = a[i]! - b[i]!;
    if (diff !== 0) return diff;
  }
  return 0;
}

/** `into += add`, in place. */
export function addInto(into: Vec, add: Vec): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! + add[i]!;
}

/** `into -= sub`, in place. */
export function subInto(into: Vec, sub: Vec): void {
  for (let i = 0; i < into.length; i++) into[i] = into[i]! - sub[i]!;
}

/** The sum of several dense vectors. */
export function sumVec(vecs: Vec[]): Vec {
  const total = RANK_ORDER.map(() => 0);
  for (const vec of vecs) addInto(total, vec);
  return total;
}

/** `cpu=4000 mem=8192`: the non-zero slots of a vector, for messages. */
export function showVec(vec: Vec): string {
  const parts = RANK_ORDER.flatMap((slot, i) => (vec[i]! === 0 ? [] : [`${slot}=${vec[i]!}`]));
  return parts.length === 0 ? 'nothing' : parts.join(' ');
}
