import { describe, expect, it } from 'vitest';
import { generateWorkload, WorkloadOptionError } from '../src/workload/index.js';

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

describe('generateWorkload', () => {
  it('gives the same workload for the same seed', () => {
    const a = generateWorkload({ seed: 42, sessions: 300, agents: 30 });
    const b = generateWorkload({ seed: 42, sessions: 300, agents: 30 });
    expect(b).toEqual(a);
  });

  it('gives a different workload for another seed', () => {
    const a = generateWorkload({ seed: 42, sessions: 300, agents: 30 });
    const b = generateWorkload({ seed: 43, sessions: 300, agents: 30 });
    expect(b.sessions).not.toEqual(a.sessions);
  });

  it('builds the first session and agent of seed 7 exactly', () => {
    const workload = generateWorkload({ seed: 7, sessions: 2000, agents: 200 });
    expect(workload.sessions[0]).toEqual({
      arrivalMs: 0,
      spec: {
        id: 'session-000000',
        owner: 'user-01',
        image: 'cr.backend.ai/stable/python-pytorch:2.4-py312-cuda12.4',
        kernels: [{ slots: { cpu: 8000, mem: 32768, 'cuda.device': 1, 'cuda.shares': 1000 } }],
      },
    });
    expect(workload.agents[0]).toEqual({
      id: 'agent-0000',
      capacity: { cpu: 96000, mem: 393216, 'cuda.device': 8, 'cuda.shares': 8000 },
      labels: { kind: 'gpu8' },
    });
  });

  describe('distributions for seed 7, 2000 sessions, 200 agents', () => {
    const workload = generateWorkload({ seed: 7, sessions: 2000, agents: 200 });
    const kernels = workload.sessions.flatMap((s) => s.spec.kernels.map((k) => k.slots));

    it('draws agent kinds near 45/35/20%', () => {
      expect(countBy(workload.agents.map((a) => a.labels.kind!))).toEqual({
        gpu8: 79,
        gpu2: 75,
        cpu: 46,
      });
    });

    it('draws kernel counts near 85/10/5%', () => {
      const counts = countBy(workload.sessions.map((s) => String(s.spec.kernels.length)));
      expect(counts).toEqual({ '1': 1729, '2': 184, '4': 87 });
    });

    it('draws GPU requests near the openb mix', () => {
      const kinds = kernels.map((k) =>
        k['cuda.device'] ? `gpu${k['cuda.device']}` : k['cuda.shares'] ? 'shared' : 'none',
      );
      expect(countBy(kinds)).toEqual({
        gpu1: 1188,
        shared: 899,
        none: 326,
        gpu2: 15,
        gpu4: 7,
        gpu8: 10,
      });
    });

    it('counts whole GPUs in cuda.shares too, 1000 per GPU', () => {
      const whole = kernels.filter((k) => k['cuda.device'] !== undefined);
      expect(whole).toHaveLength(1220);
      expect(whole.every((k) => k['cuda.shares'] === k['cuda.device']! * 1000)).toBe(true);
    });

    it('asks 4 GiB of memory per core and only openb share values', () => {
      expect(kernels.every((k) => k.mem === (k.cpu! / 1000) * 4096)).toBe(true);
      const fractions = kernels.filter((k) => !k['cuda.device'] && k['cuda.shares']);
      const shares = new Set(fractions.map((k) => k['cuda.shares']!));
      expect([...shares].sort()).toEqual([230, 320, 460, 470, 650, 810]);
    });

    it('arrives as a Poisson process with a 500 ms mean gap', () => {
      const arrivals = workload.sessions.map((s) => s.arrivalMs);
      expect(arrivals.every((at, i) => i === 0 || at >= arrivals[i - 1]!)).toBe(true);
      expect(arrivals.at(-1)).toBe(969331);
    });

    it('skews owners by Zipf: user-00 submits most', () => {
      const owners = countBy(workload.sessions.map((s) => s.spec.owner));
      expect(Object.keys(owners)).toHaveLength(16);
      expect(owners['user-00']).toBe(594);
      expect(owners['user-01']).toBe(312);
      expect(owners['user-15']).toBe(32);
    });
  });

  it('rejects a fractional session count, naming the option', () => {
    expect(() => generateWorkload({ seed: 1, sessions: 2.5, agents: 3 })).toThrow(
      new WorkloadOptionError('sessions', 2.5, 'an integer >= 0'),
    );
    expect(() => generateWorkload({ seed: 1, sessions: 2, agents: 0 })).toThrow(
      'agents is 0: expected an integer >= 1',
    );
  });
});
