import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { backoffBounds, backoffDelay, decorrelatedReach } from '../src/policy/backoff.js';
import { defaultPolicy } from '../src/policy/defaults.js';
import { nextRandom, seededRandom } from '../src/policy/random.js';
import { JITTER_KINDS, type Jitter, type StagePolicy } from '../src/policy/types.js';

/** Valid stage policies of one jitter kind (the ranges `validatePolicy` accepts, trimmed). */
function stageOf(jitter: Jitter): fc.Arbitrary<StagePolicy> {
  return fc
    .record({
      initialDelayMs: fc.integer({ min: 0, max: 60_000 }),
      extra: fc.integer({ min: 0, max: 3_600_000 }),
      multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
      maxAttempts: fc.integer({ min: 1, max: 100 }),
    })
    .map(({ initialDelayMs, extra, multiplier, maxAttempts }) => ({
      ...defaultPolicy.pull,
      maxAttempts,
      initialDelayMs,
      maxDelayMs: initialDelayMs + extra,
      multiplier,
      jitter,
    }));
}

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const retry = fc.integer({ min: 1, max: 40 });
const previous = fc.integer({ min: 0, max: 3_600_000 });

describe('backoffDelay within backoffBounds', () => {
  test.each(JITTER_KINDS)('%s jitter: every delay is an integer inside the bounds', (jitter) => {
    fc.assert(
      fc.property(stageOf(jitter), retry, previous, unit, (stage, n, prev, random) => {
        const delay = backoffDelay(stage, n, prev, random);
        const [low, high] = backoffBounds(stage, n);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(low);
        expect(delay).toBeLessThanOrEqual(high);
        expect(high).toBeLessThanOrEqual(stage.maxDelayMs);
      }),
    );
  });

  test.each(JITTER_KINDS)('%s jitter: retryAfterMs replaces the delay, clamped', (jitter) => {
    fc.assert(
      fc.property(
        stageOf(jitter),
        retry,
        unit,
        fc.integer({ min: -1_000, max: 10_000_000 }),
        (stage, n, random, retryAfterMs) => {
          const delay = backoffDelay(stage, n, stage.initialDelayMs, random, retryAfterMs);
          expect(delay).toBe(Math.min(stage.maxDelayMs, Math.max(0, retryAfterMs)));
        },
      ),
    );
  });

  test('decorrelated jitter stays below three times the previous delay', () => {
    fc.assert(
      fc.property(stageOf('decorrelated'), retry, previous, unit, (stage, n, prev, random) => {
        const delay = backoffDelay(stage, n, prev, random);
        const upper = Math.min(stage.maxDelayMs, 3 * Math.max(stage.initialDelayMs, prev));
        expect(delay).toBeLessThanOrEqual(upper);
      }),
    );
  });
});

describe('decorrelated delays retry after retry', () => {
  test('retry n waits at most initialDelayMs * 3^n (capped) with no retryAfterMs before', () => {
    fc.assert(
      fc.property(
        stageOf('decorrelated'),
        fc.array(unit, { minLength: 1, maxLength: 12 }),
        (stage, randoms) => {
          let last = stage.initialDelayMs;
          for (const [index, random] of randoms.entries()) {
            const n = index + 1;
            last = backoffDelay(stage, n, last, random);
            const upper = Math.min(stage.maxDelayMs, stage.initialDelayMs * 3 ** n);
            expect(last).toBeGreaterThanOrEqual(stage.initialDelayMs);
            expect(last).toBeLessThanOrEqual(upper);
            expect(decorrelatedReach(stage, n)).toBe(upper);
          }
        },
      ),
    );
  });

  test('the default create stage: retries 1 to 3 reach at most 30 s, 90 s and 270 s', () => {
    const stage: StagePolicy = { ...defaultPolicy.create, jitter: 'decorrelated' };
    let last = stage.initialDelayMs;
    const highest = [1, 2, 3, 4].map((n) => {
      last = backoffDelay(stage, n, last, 0.999_999_999);
      return last;
    });
    expect(highest).toStrictEqual([29_999, 89_996, 269_987, 299_999]);
    const reach = [1, 2, 3, 4].map((n) => decorrelatedReach(stage, n));
    expect(reach).toStrictEqual([30_000, 90_000, 270_000, 300_000]);
  });
});

describe('backoffDelay exact values', () => {
  const none: StagePolicy = { ...defaultPolicy.create, jitter: 'none' };

  test('doubles from 10 s and stops at the 5 min cap without jitter', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(none, n, 0, 0.5));
    expect(delays).toStrictEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  test('full jitter scales the base by the random number', () => {
    expect(backoffDelay({ ...none, jitter: 'full' }, 3, 0, 0.25)).toBe(10_000);
    expect(backoffBounds({ ...none, jitter: 'full' }, 3)).toStrictEqual([0, 40_000]);
  });

  test('equal jitter keeps at least half the base', () => {
    expect(backoffDelay({ ...none, jitter: 'equal' }, 2, 0, 0)).toBe(10_000);
    expect(backoffDelay({ ...none, jitter: 'equal' }, 2, 0, 0.5)).toBe(15_000);
    expect(backoffBounds({ ...none, jitter: 'equal' }, 2)).toStrictEqual([10_000, 20_000]);
  });

  test('decorrelated jitter draws between the initial delay and three times the last one', () => {
    const stage: StagePolicy = { ...none, jitter: 'decorrelated' };
    expect(backoffDelay(stage, 4, 20_000, 0.5)).toBe(35_000);
    expect(backoffDelay(stage, 4, 200_000, 0.999_999)).toBe(299_999);
    expect(backoffBounds(stage, 4)).toStrictEqual([10_000, 300_000]);
  });

  test('a retryAfterMs hint of 2.4 s gives 2400 ms whatever the jitter', () => {
    for (const jitter of JITTER_KINDS) {
      expect(backoffDelay({ ...none, jitter }, 5, 0, 0.9, 2_400)).toBe(2_400);
    }
  });
});

describe('nextRandom', () => {
  test('is reproducible from its state and stays in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (seed) => {
        const first = nextRandom(seed);
        expect(nextRandom(seed)).toStrictEqual(first);
        expect(first.value).toBeGreaterThanOrEqual(0);
        expect(first.value).toBeLessThan(1);
        expect(Number.isInteger(first.state)).toBe(true);
      }),
    );
  });

  test('seededRandom yields the same sequence as stepping nextRandom', () => {
    const source = seededRandom(42);
    let state = 42;
    for (let i = 0; i < 5; i++) {
      const step = nextRandom(state);
      state = step.state;
      expect(source()).toBe(step.value);
    }
  });
});
