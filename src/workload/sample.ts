/** Sampling helpers over an injected uniform source (pure: no Math.random). */
import type { RandomSource } from '../manager/ports.js';

/** One choice and its relative weight. */
export type Weighted<T> = readonly (readonly [T, number])[];

/** Picks a value with probability proportional to its weight. */
export function pickWeighted<T>(random: RandomSource, choices: Weighted<T>): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let left = random() * total;
  for (const [value, weight] of choices) {
    left -= weight;
    if (left < 0) return value;
  }
  return choices[choices.length - 1]![0];
}

/** An exponential gap with mean `meanMs`, rounded to whole ms (Poisson process arrivals). */
export function exponentialMs(random: RandomSource, meanMs: number): number {
  return Math.round(-Math.log(1 - random()) * meanMs);
}

/** Zipf weights `1/k^s` for ranks 1..count, as `[index, weight]` pairs. */
export function zipfWeights(count: number, exponent: number): Weighted<number> {
  return Array.from({ length: count }, (_, index) => [index, 1 / (index + 1) ** exponent] as const);
}
