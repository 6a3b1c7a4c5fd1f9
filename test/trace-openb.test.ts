import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOpenbTrace, TraceError, type Workload } from '../src/workload/index.js';

const TRACE_DIR = resolve(import.meta.dirname, '../../shared/traces/openb-gpu-2023');
const PODS = join(TRACE_DIR, 'openb_pod_list_default.csv');
const NODES = join(TRACE_DIR, 'openb_node_list_all_node.csv');

describe('loadOpenbTrace on the real openb trace', () => {
  let trace: Workload;
  beforeAll(async () => {
    trace = await loadOpenbTrace({ podsPath: PODS, nodesPath: NODES });
  });

  it('reads every pod as a session and every node as an agent', () => {
    expect(trace.sessions).toHaveLength(8152);
    expect(trace.agents).toHaveLength(1523);
  });

  it('maps a CPU-only node to cpu and mem, without GPU slots or labels', () => {
    expect(trace.agents[0]).toEqual({
      id: 'openb-node-0000',
      capacity: { cpu: 32000, mem: 262144 },
      labels: {},
    });
  });

  it('maps a GPU node to whole GPUs and the same GPUs in shares, keeping the model', () => {
    expect(trace.agents.find((a) => a.id === 'openb-node-0229')).toEqual({
      id: 'openb-node-0229',
      capacity: { cpu: 96000, mem: 786432, 'cuda.device': 8, 'cuda.shares': 8000 },
      labels: { model: 'V100M32' },
    });
  });

  it('maps a whole-GPU pod to cuda.device and cuda.shares, arrival and lifetime in ms', () => {
    expect(trace.sessions[0]).toEqual({
      arrivalMs: 0,
      lifetimeMs: 12537496000,
      spec: {
        id: 'openb-pod-0000',
        owner: 'LS',
        image: 'openb/pod:latest',
        kernels: [{ slots: { cpu: 12000, mem: 16384, 'cuda.device': 1, 'cuda.shares': 1000 } }],
      },
    });
  });

  it('maps a GPU-sharing pod to cuda.shares equal to gpu_milli, without cuda.device', () => {
    const pod = trace.sessions[1]!;
    expect(pod.spec.kernels).toEqual([{ slots: { cpu: 6000, mem: 12288, 'cuda.shares': 460 } }]);
    expect(pod.arrivalMs).toBe(427061000);
    expect(pod.lifetimeMs).toBe((12902960 - 427061) * 1000);
  });

  it('maps an 8-GPU pod to 8 devices and 8000 shares, and a CPU-only pod to no GPU', () => {
    const byId = new Map(trace.sessions.map((s) => [s.spec.id, s]));
    expect(byId.get('openb-pod-0017')!.spec.kernels[0]!.slots).toEqual({
      cpu: 88000,
      mem: 327680,
      'cuda.device': 8,
      'cuda.shares': 8000,
    });
    expect(byId.get('openb-pod-0005')!.spec.kernels[0]!.slots).toEqual({ cpu: 20000, mem: 65536 });
  });

  it('gives a never-scheduled pod no lifetime', () => {
    const pending = trace.sessions.find((s) => s.spec.id === 'openb-pod-0061')!;
    expect(pending.lifetimeMs).toBeUndefined();
    expect(trace.sessions.filter((s) => s.lifetimeMs === undefined)).toHaveLength(897);
  });

  it('counts owners by qos class and GPU kinds by slot', () => {
    const owners = countBy(trace.sessions.map((s) => s.spec.owner));
    expect(owners).toEqual({ BE: 3398, Burstable: 100, Guaranteed: 7, LS: 4647 });
    const slots = trace.sessions.map((s) => s.spec.kernels[0]!.slots);
    const shared = slots.filter((s) => s['cuda.shares'] !== undefined && !s['cuda.device']);
    expect(shared).toHaveLength(3078);
    expect(slots.filter((s) => s['cuda.device'] !== undefined)).toHaveLength(3986);
    expect(slots.reduce((sum, s) => sum + (s['cuda.device'] ?? 0), 0)).toBe(4355);
  });

  it('never lets pods ask for more GPU shares than their whole GPUs plus fractions', () => {
    const slots = trace.sessions.map((s) => s.spec.kernels[0]!.slots);
    const shares = slots.reduce((sum, s) => sum + (s['cuda.shares'] ?? 0), 0);
    const fractions = slots.reduce(
      (sum, s) => sum + (s['cuda.device'] ? 0 : (s['cuda.shares'] ?? 0)),
      0,
    );
    expect(shares).toBe(4355 * 1000 + fractions);
    expect(fractions).toBe(1731800);
    const gpus = trace.agents.reduce((sum, a) => sum + (a.capacity['cuda.device'] ?? 0), 0);
    expect(gpus).toBe(6212);
    expect(
      trace.agents.every(
        (a) => (a.capacity['cuda.shares'] ?? 0) === (a.capacity['cuda.device'] ?? 0) * 1000,
      ),
    ).toBe(true);
  });

  it('keeps only the first pods with limit, and all the nodes', async () => {
    const small = await loadOpenbTrace({ podsPath: PODS, nodesPath: NODES, limit: 3 });
    expect(small.sessions.map((s) => s.spec.id)).toEqual([
      'openb-pod-0000',
      'openb-pod-0001',
      'openb-pod-0002',
    ]);
    expect(small.agents).toHaveLength(1523);
  });
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

describe('loadOpenbTrace on malformed files', () => {
  const NODE_HEADER = 'sn,cpu_milli,memory_mib,gpu,model';
  const POD_HEADER =
    'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,' +
    'creation_time,deletion_time,scheduled_time';
  const GOOD_POD = 'p0,1000,2048,1,500,,LS,Running,10,20,12';
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openb-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function load(podLines: string[], nodeLines = ['n0,4000,8192,1,T4']) {
    const podsPath = join(dir, 'pods.csv');
    const nodesPath = join(dir, 'nodes.csv');
    await writeFile(podsPath, [POD_HEADER, ...podLines].join('\n'));
    await writeFile(nodesPath, [NODE_HEADER, ...nodeLines].join('\n'));
    return loadOpenbTrace({ podsPath, nodesPath });
  }

  async function failure(podLines: string[], nodeLines?: string[]): Promise<TraceError> {
    const error = await load(podLines, nodeLines).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TraceError);
    return error as TraceError;
  }

  it('loads a small well-formed pair of files', async () => {
    const workload = await load([GOOD_POD]);
    expect(workload.sessions).toEqual([
      {
        arrivalMs: 10000,
        lifetimeMs: 8000,
        spec: {
          id: 'p0',
          owner: 'LS',
          image: 'openb/pod:latest',
          kernels: [{ slots: { cpu: 1000, mem: 2048, 'cuda.shares': 500 } }],
        },
      },
    ]);
  });

  it('names file, line and column of a non-numeric cpu_milli', async () => {
    const error = await failure([GOOD_POD, 'p1,lots,2048,0,0,,LS,Running,11,20,12']);
    expect(error.code).toBe('bad-value');
    expect(error.file).toBe(join(dir, 'pods.csv'));
    expect(error.line).toBe(3);
    expect(error.column).toBe('cpu_milli');
    expect(error.message).toBe(
      `${join(dir, 'pods.csv')}:3, column 'cpu_milli': 'lots' is not allowed; ` +
        'expected an integer >= 0',
    );
  });

  it('rejects a gpu_milli above one GPU', async () => {
    const error = await failure(['p1,1000,2048,1,1500,,LS,Running,11,20,12']);
    expect([error.line, error.column]).toEqual([2, 'gpu_milli']);
    expect(error.message).toMatch(/'1500' is not allowed; expected an integer from 1 to 1000$/);
  });

  it('rejects a deletion before the scheduling time', async () => {
    const error = await failure(['p1,1000,2048,0,0,,LS,Running,11,5,12']);
    expect([error.line, error.column]).toEqual([2, 'deletion_time']);
    expect(error.message).toMatch(/'5' is not allowed; expected an integer >= 12$/);
  });

  it('rejects an empty qos', async () => {
    const error = await failure(['p1,1000,2048,0,0,,,Running,11,20,12']);
    expect([error.line, error.column]).toEqual([2, 'qos']);
  });

  it('rejects a negative GPU count on a node', async () => {
    const error = await failure([GOOD_POD], ['n0,4000,8192,-1,T4']);
    expect(error.file).toBe(join(dir, 'nodes.csv'));
    expect([error.line, error.column]).toEqual([2, 'gpu']);
  });

  it('rejects a row with a wrong number of fields', async () => {
    const error = await failure([GOOD_POD, 'p1,1000']);
    expect(error.code).toBe('bad-row');
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/pods\.csv:3: malformed CSV: /);
  });

  it('rejects a header without a required column', async () => {
    const podsPath = join(dir, 'pods-no-qos.csv');
    await writeFile(podsPath, 'name,cpu_milli\np0,1000\n');
    const error = await loadOpenbTrace({ podsPath, nodesPath: join(dir, 'nodes.csv') }).catch(
      (caught: unknown) => caught as TraceError,
    );
    expect(error).toBeInstanceOf(TraceError);
    expect((error as TraceError).code).toBe('bad-header');
    expect((error as TraceError).column).toBe('memory_mib');
  });

  it('rejects a duplicate pod name', async () => {
    const error = await failure([GOOD_POD, GOOD_POD]);
    expect([error.line, error.column]).toEqual([3, 'name']);
    expect(error.message).toMatch(/'p0' appears more than once; ids must be unique$/);
  });

  it('reports a missing file as unreadable', async () => {
    const podsPath = join(dir, 'absent.csv');
    const error = await loadOpenbTrace({ podsPath, nodesPath: podsPath }).catch(
      (caught: unknown) => caught as TraceError,
    );
    expect(error).toBeInstanceOf(TraceError);
    expect((error as TraceError).code).toBe('unreadable');
    expect((error as TraceError).file).toBe(podsPath);
  });
});
