import { describe, expect, it } from 'vitest';
import {
  add,
  checkSlots,
  equals,
  fits,
  isZero,
  normalize,
  SlotsError,
  shortfall,
  slotAmount,
  sub,
  sum,
} from '../src/core/slots.js';

describe('slot arithmetic', () => {
  it('adds slot by slot, treating absent slots as zero', () => {
    expect(add({ cpu: 1000, mem: 512 }, { mem: 256, 'cuda.device': 1 })).toEqual({
      cpu: 1000,
      mem: 768,
      'cuda.device': 1,
    });
  });

  it('subtracts exactly and drops slots that reach zero', () => {
    expect(sub({ cpu: 2000, mem: 1024 }, { cpu: 2000, mem: 24 })).toEqual({ mem: 1000 });
  });

  it('refuses a subtraction that would go below zero with a SlotsError naming the slot', () => {
    const attempt = () => sub({ cpu: 500 }, { cpu: 600 });
    expect(attempt).toThrow(SlotsError);
    expect(attempt).toThrow(
      "cannot subtract 600 from 500 in slot 'cpu': the result must not be negative",
    );
    try {
      attempt();
    } catch (error) {
      expect((error as SlotsError).field).toBe('cpu');
      expect((error as SlotsError).code).toBe('invalid-slots');
    }
  });

  it('sums any number of vectors, and none to the zero vector', () => {
    expect(sum([{ cpu: 1 }, { cpu: 2, mem: 3 }, { 'cuda.shares': 250 }])).toEqual({
      cpu: 3,
      mem: 3,
      'cuda.shares': 250,
    });
    expect(sum([])).toEqual({});
  });

  it('fits when every needed slot is available, including exact equality', () => {
    expect(fits({ cpu: 1000 }, { cpu: 1000, mem: 1 })).toBe(true);
    expect(fits({}, {})).toBe(true);
    expect(fits({ 'cuda.device': 1 }, { cpu: 1000 })).toBe(false);
  });

  it('reports the first shortfall with requested and free amounts', () => {
    expect(shortfall({ cpu: 100, mem: 900 }, { cpu: 100, mem: 512 })).toEqual({
      slot: 'mem',
      requested: 900,
      free: 512,
    });
    expect(shortfall({ cpu: 100 }, { cpu: 200 })).toBeUndefined();
  });

  it('knows the zero vector and equality regardless of explicit zeros', () => {
    expect(isZero({})).toBe(true);
    expect(isZero({ cpu: 0, mem: 0 })).toBe(true);
    expect(isZero({ mem: 1 })).toBe(false);
    expect(equals({ cpu: 5, mem: 0 }, { cpu: 5 })).toBe(true);
    expect(equals({ cpu: 5 }, { cpu: 6 })).toBe(false);
  });

  it('normalizes by dropping zero entries and reads absent slots as zero', () => {
    expect(normalize({ cpu: 0, mem: 7 })).toEqual({ mem: 7 });
    expect(slotAmount({ cpu: 3 }, 'mem')).toBe(0);
  });

  it('accepts non-negative integer amounts at the boundary', () => {
    expect(checkSlots({ cpu: 4000, mem: 0 }, 'spec.slots')).toEqual({ cpu: 4000 });
  });

  it('rejects fractional, negative and non-number amounts naming the field', () => {
    expect(() => checkSlots({ cpu: 1.5 }, 'spec.slots')).toThrow(
      'spec.slots.cpu is 1.5: slot amounts must be non-negative integers',
    );
    expect(() => checkSlots({ mem: -1 }, 'k')).toThrow(
      'k.mem is -1: slot amounts must be non-negative integers',
    );
    expect(() => checkSlots(null, 'k')).toThrow('k must be an object of slot amounts');
  });

  it('recognizes SlotsError instances from another copy of the class by brand', () => {
    const foreign = Object.defineProperty(
      new Error('x'),
      Symbol.for('session-lifecycle.SlotsError'),
      {
        value: true,
      },
    );
    expect(foreign instanceof SlotsError).toBe(true);
    expect(new Error('y') instanceof SlotsError).toBe(false);
  });
});
