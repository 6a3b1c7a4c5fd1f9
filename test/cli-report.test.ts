import { describe, expect, it } from 'vitest';
import { formatDuration, formatReport } from '../src/cli/format.js';
import {
  attemptDistribution,
  findLeaks,
  findOrphans,
  latencyOf,
  outcomesOf,
  percentile,
} from '../src/cli/metrics.js';
import type { ReplayReport, RunResult } from '../src/cli/result.js';
import type { AgentRow, SessionRow } from '../src/manager/ports.js';

function run(overrides: Partial<RunResult>): RunResult {
  return {
    policy: 'guarded',
    sessions: 10,
    rejected: [],
    reachedRunning: 9,
    outcomes: [
      { status: 'RUNNING', reason: null, count: 9 },
      { status: 'CANCELLED', reason: 'create-retries-exhausted', count: 1 },
    ],
    attempts: { pull: { '1': 10 }, create: { '1': 8, '2': 2 } },
    timeToRunning: { p50: 2500, p95: 12_000, p99: 70_000, max: 70_000 },
    leaks: [],
    orphans: [],
    stop: 'settled',
    virtualMs: 90_000,
    ticks: 42,
    wallMs: 250,
    sessionsPerSec: 40,
    ...overrides,
  };
}

const report = (runs: RunResult[]): ReplayReport => ({
  source: { kind: 'generator', detail: 'the built-in generator', sessions: 10, agents: 3 },
  seed: 7,
  faults: 'heavy',
  picker: 'fifo',
  selector: 'concentrated',
  store: 'memory',
  runs,
});

describe('formatReport', () => {
  it('prints one policy as a two-column table', () => {
    expect(formatReport(report([run({})]))).toBe(
      [
        'replay of the built-in generator (10 sessions, 3 agents); faults heavy, seed 7, picker ' +
          'fifo, selector concentrated, store memory',
        '',
        '                                      guarded',
        'sessions                                   10',
        'rejected at submit                          0',
        'reached RUNNING                             9',
        'status / reason at the end',
        '  RUNNING                                   9',
        '  CANCELLED create-retries-exhausted        1',
        'attempts per stage (sessions)',
        '  pull x1                                  10',
        '  create x1                                 8',
        '  create x2                                 2',
        'time to RUNNING (virtual)',
        '  p50                                   2.5 s',
        '  p95                                  12.0 s',
        '  p99                                 1.2 min',
        '  max                                 1.2 min',
        'leaked reservations                         0',
        'orphan kernels                              0',
        'ended                                 settled',
        'virtual time                          1.5 min',
        'ticks                                      42',
        'wall time                              250 ms',
        'sessions/s (wall)                          40',
        '',
      ].join('\n'),
    );
  });

  it('puts two policies side by side and states the difference in RUNNING', () => {
    const seed = run({
      policy: 'seed',
      reachedRunning: 6,
      outcomes: [
        { status: 'RUNNING', reason: null, count: 6 },
        { status: 'CANCELLED', reason: 'create-failed-permanently', count: 4 },
      ],
      attempts: { pull: { '1': 10 }, create: { '1': 10 } },
      timeToRunning: null,
    });
    const text = formatReport(report([run({}), seed]));
    const lines = text.split('\n');
    expect(lines[2]).toBe(`${' '.repeat(39)}guarded     seed`);
    expect(lines).toContain('  CANCELLED create-retries-exhausted         1        0');
    expect(lines).toContain('  CANCELLED create-failed-permanently        0        4');
    expect(lines).toContain('  create x2                                  2        0');
    expect(lines).toContain('  p50                                    2.5 s        -');
    expect(lines.at(-2)).toBe('guarded brings 3 more sessions to RUNNING than seed (9 vs 6 of 10)');
  });
});

describe('formatDuration', () => {
  it('picks a unit by size', () => {
    expect([999, 1500, 90_000, 5_400_000, 172_800_000].map(formatDuration)).toEqual([
      '999 ms',
      '1.5 s',
      '1.5 min',
      '1.5 h',
      '2.0 d',
    ]);
  });
});

describe('metrics', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([50, 95, 99, 100].map((p) => percentile(sorted, p))).toEqual([50, 95, 99, 100]);
    expect(latencyOf([30, 10, 20])).toEqual({ p50: 20, p95: 30, p99: 30, max: 30 });
    expect(latencyOf([])).toBeNull();
  });

  it('counts outcomes by status and reason, most frequent first', () => {
    const views = [
      { status: 'RUNNING' as const, reason: null },
      { status: 'CANCELLED' as const, reason: 'pull-failed-permanently' as const },
      { status: 'RUNNING' as const, reason: null },
    ];
    expect(outcomesOf(views)).toEqual([
      { status: 'RUNNING', reason: null, count: 2 },
      { status: 'CANCELLED', reason: 'pull-failed-permanently', count: 1 },
    ]);
  });

  it('counts a session left PENDING under the predicate that last held it back', () => {
    const failure = (predicate: string) => ({ predicate, message: 'no room', at: 0 });
    const views = [
      { status: 'PENDING' as const, reason: null, lastPlacementFailure: failure('capacity') },
      { status: 'PENDING' as const, reason: null, lastPlacementFailure: failure('capacity') },
      { status: 'PENDING' as const, reason: null, lastPlacementFailure: null },
      { status: 'RUNNING' as const, reason: null, lastPlacementFailure: null },
    ];
    expect(outcomesOf(views)).toEqual([
      { status: 'PENDING', reason: 'capacity', count: 2 },
      { status: 'PENDING', reason: null, count: 1 },
      { status: 'RUNNING', reason: null, count: 1 },
    ]);
  });

  it('counts attempts from started records, else from the counters', () => {
    const started = (stage: 'pull' | 'create', attempt: number) => ({
      stage,
      attempt,
      at: 0,
      outcome: 'started' as const,
    });
    const views = [
      { attempts: { pull: 1, create: 1 }, attemptHistory: [] },
      {
        attempts: { pull: 1, create: 1 },
        attemptHistory: [started('pull', 1), started('create', 1), started('create', 1)],
      },
    ];
    expect(attemptDistribution(views)).toEqual({
      pull: { '1': 2 },
      create: { '1': 1, '2': 1 },
    });
  });

  it('finds an agent whose reservation exceeds what live sessions hold', () => {
    const agents: AgentRow[] = [
      { id: 'a1', capacity: { cpu: 8000 }, reserved: { cpu: 3000 }, schedulable: true },
      { id: 'a2', capacity: { cpu: 8000 }, reserved: { cpu: 1000 }, schedulable: true },
    ];
    const session = (id: string, status: SessionRow['status'], holds: SessionRow['holds']) =>
      ({ id, status, holds }) as SessionRow;
    const sessions = [
      session('s1', 'RUNNING', { a1: { cpu: 2000 } }),
      session('s2', 'CANCELLED', { a2: { cpu: 1000 } }),
    ];
    expect(findLeaks(agents, sessions)).toEqual([
      { agentId: 'a1', difference: { cpu: 1000 }, heldByFinal: [] },
      { agentId: 'a2', difference: { cpu: 1000 }, heldByFinal: ['s2'] },
    ]);
    expect(
      findLeaks(agents.slice(0, 1), [session('s1', 'RUNNING', { a1: { cpu: 3000 } })]),
    ).toEqual([]);
  });

  it('finds kernels of final sessions and of earlier attempts', () => {
    const views = new Map([
      ['s1', { status: 'RUNNING' as const, kernels: [kernel('k0', 'a1', 2)] }],
      ['s2', { status: 'CANCELLED' as const, kernels: [kernel('k0', 'a1', 1)] }],
    ]);
    const live = [
      { agentId: 'a1', sessionId: 's1', kernelId: 'k0', attempt: 2 },
      { agentId: 'a1', sessionId: 's1', kernelId: 'k0', attempt: 1 },
      { agentId: 'a1', sessionId: 's2', kernelId: 'k0', attempt: 1 },
      { agentId: 'a2', sessionId: 's3', kernelId: 'k0', attempt: 1 },
    ];
    expect(findOrphans(live, views)).toEqual([
      {
        agentId: 'a1',
        sessionId: 's1',
        kernelId: 'k0',
        why: 'attempt 1 is not the current attempt 2',
      },
      { agentId: 'a1', sessionId: 's2', kernelId: 'k0', why: 'session is CANCELLED' },
      { agentId: 'a2', sessionId: 's3', kernelId: 'k0', why: 'unknown session' },
    ]);
  });
});

function kernel(id: string, agentId: string, attempt: number) {
  return { id, agentId, status: 'RUNNING', attempt };
}
