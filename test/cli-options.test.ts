import { describe, expect, it } from 'vitest';
import { CliOptionError } from '../src/cli/errors.js';
import { parseFaults } from '../src/cli/faults.js';
import { parseReplayOptions, type RawReplayOptions, REPLAY_DEFAULTS } from '../src/cli/options.js';

const defaults: RawReplayOptions = { ...REPLAY_DEFAULTS };

function failure(raw: Partial<RawReplayOptions>): CliOptionError {
  try {
    parseReplayOptions({ ...defaults, ...raw });
  } catch (error) {
    expect(error).toBeInstanceOf(CliOptionError);
    return error as CliOptionError;
  }
  throw new Error('expected a CliOptionError');
}

describe('parseReplayOptions', () => {
  it('uses the generator with the defaults', () => {
    expect(parseReplayOptions(defaults)).toEqual({
      source: { kind: 'generator', sessions: 1000, agents: 200 },
      policies: ['guarded'],
      faults: { kind: 'preset', preset: 'none' },
      seed: 1,
      picker: 'fifo',
      selector: 'concentrated',
      logLevel: 'warn',
      tickMs: 1000,
      horizonMs: 720 * 3_600_000,
      lifetimes: false,
    });
  });

  it('reads a trace pair, a limit, both policies and a report path', () => {
    const settings = parseReplayOptions({
      ...defaults,
      pods: 'p.csv',
      nodes: 'n.csv',
      limit: '10',
      policy: 'both',
      report: 'out.json',
      lifetimes: true,
    });
    expect(settings.source).toEqual({
      kind: 'openb',
      podsPath: 'p.csv',
      nodesPath: 'n.csv',
      limit: 10,
    });
    expect(settings.policies).toEqual(['guarded', 'seed']);
    expect(settings.reportPath).toBe('out.json');
    expect(settings.lifetimes).toBe(true);
  });

  it('names --policy and lists the choices', () => {
    const error = failure({ policy: 'retry' });
    expect(error.field).toBe('--policy');
    expect(error.message).toBe("--policy is 'retry': expected one of guarded, seed, both");
  });

  it('names --seed for a non-integer', () => {
    expect(failure({ seed: '1.5' }).message).toBe(
      "--seed is '1.5': expected an integer from 0 to 4294967295",
    );
  });

  it('names --picker, --selector and --log-level', () => {
    expect(failure({ picker: 'random' }).message).toBe(
      "--picker is 'random': expected one of fifo, lifo, drf",
    );
    expect(failure({ selector: 'packed' }).field).toBe('--selector');
    expect(failure({ logLevel: 'loud' }).field).toBe('--log-level');
  });

  it('asks for --nodes when only --pods is given', () => {
    const error = failure({ pods: 'p.csv' });
    expect(error.field).toBe('--nodes');
    expect(error.message).toBe(
      '--nodes is missing: --pods needs --nodes too (or give neither to use the generator)',
    );
  });

  it('rejects zero agents and a zero limit', () => {
    expect(failure({ agents: '0' }).message).toBe(
      "--agents is '0': expected an integer from 1 to 1000000",
    );
    expect(failure({ limit: '0' }).field).toBe('--limit');
  });
});

describe('parseFaults', () => {
  it('accepts the presets', () => {
    expect(parseFaults('heavy')).toEqual({ kind: 'preset', preset: 'heavy' });
  });

  it('turns explicit rates into the fleet rates', () => {
    expect(
      parseFaults('create.transient=0.05,pull.permanent=0.01,create.agent=0.1,reports.lost=0.2'),
    ).toEqual({
      kind: 'rates',
      text: 'create.transient=0.05,pull.permanent=0.01,create.agent=0.1,reports.lost=0.2',
      rates: {
        createKernels: { transient: 0.05, agent: 0.1 },
        pullImages: { permanent: 0.01 },
        lostReports: 0.2,
      },
    });
  });

  it('rejects a rate above 1, naming the key', () => {
    expect(() => parseFaults('create.transient=1.5')).toThrow(
      "--faults is 'create.transient=1.5': expected a rate from 0 to 1 for 'create.transient', " +
        "got '1.5'",
    );
  });

  it('rejects an unknown operation or class', () => {
    expect(() => parseFaults('start.transient=0.1')).toThrow(CliOptionError);
    expect(() => parseFaults('create.flaky=0.1')).toThrow(/got 'create\.flaky'$/);
  });

  it('rejects an unknown preset', () => {
    expect(() => parseFaults('medium')).toThrow(
      "--faults is 'medium': expected none, light, heavy, or rates like " +
        "'create.transient=0.05,pull.permanent=0.01'",
    );
  });
});
