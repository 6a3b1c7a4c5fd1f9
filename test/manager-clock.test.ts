import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../src/manager/clock.js';
import { describeError, recordingLogger, silentLogger } from '../src/manager/logger.js';

describe('ManualClock', () => {
  it('starts where told and moves only when set or advanced', () => {
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    expect(clock.advance(250)).toBe(1_250);
    clock.set(5_000);
    expect(clock.now()).toBe(5_000);
  });

  it('refuses to go backwards or advance by a negative amount', () => {
    const clock = new ManualClock(100);
    expect(() => clock.set(99)).toThrow(
      new RangeError('time is 99: a ManualClock never goes backwards (it is at 100)'),
    );
    expect(() => clock.advance(-1)).toThrow(
      new RangeError('ms is -1: advance takes a non-negative finite number'),
    );
    expect(() => new ManualClock(Number.NaN)).toThrow(
      new RangeError('start is NaN: a time must be a finite number of epoch ms'),
    );
    expect(clock.now()).toBe(100);
  });

  it('systemClock follows Date.now', () => {
    const before = Date.now();
    const seen = systemClock.now();
    expect(seen).toBeGreaterThanOrEqual(before);
    expect(seen).toBeLessThanOrEqual(Date.now());
  });
});

describe('loggers', () => {
  it('silentLogger accepts every level and returns nothing', () => {
    expect(silentLogger.info({ sessionId: 's' }, 'x')).toBeUndefined();
    expect(silentLogger.error({}, 'x')).toBeUndefined();
  });

  it('recordingLogger keeps level, fields and message', () => {
    const logger = recordingLogger();
    logger.info({ sessionId: 's1', attempt: 2 }, 'session transition');
    expect(logger.entries).toEqual([
      { level: 'info', fields: { sessionId: 's1', attempt: 2 }, message: 'session transition' },
    ]);
  });

  it('describeError keeps name, message and code', () => {
    const error = Object.assign(new TypeError('bad'), { code: 'x-code' });
    expect(describeError(error)).toEqual({ name: 'TypeError', message: 'bad', code: 'x-code' });
    expect(describeError('plain')).toEqual({ message: 'plain' });
  });
});
