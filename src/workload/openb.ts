/**
 * Loads Alibaba's openb GPU cluster trace (cluster-trace-gpu-v2023) into a workload.
 *
 * Mapping (see docs/replay.md):
 * - node: `cpu_milli` -> `cpu`, `memory_mib` -> `mem`, `gpu` -> `cuda.device = gpu` (whole GPUs)
 *   and `cuda.shares = gpu * 1000` (the same GPUs in 1/1000 units); `model` is kept as a label.
 * - pod: one single-kernel session. `cpu_milli` -> `cpu`, `memory_mib` -> `mem`; a pod asking
 *   for whole GPUs (`num_gpu > 1`, or `num_gpu == 1` with `gpu_milli == 1000`) reserves both
 *   `cuda.device = num_gpu` and `cuda.shares = num_gpu * 1000`; a GPU-sharing pod
 *   (`num_gpu == 1`, `gpu_milli < 1000`) reserves `cuda.shares = gpu_milli` only. Every GPU a
 *   pod uses is thus counted in `cuda.shares`, so the pods on a node never use more than its
 *   GPUs, and `cuda.device` additionally keeps whole-GPU pods to whole devices. Owner is the
 *   `qos` class (the trace names no users); the image is one fixed name (the trace names none).
 * - arrival: `creation_time` seconds -> ms; lifetime: `deletion_time - scheduled_time` seconds
 *   -> ms, when the pod was ever scheduled.
 */
import type { Slots } from '../core/types.js';
import { type CsvRow, intField, optionalIntField, readCsv, textField } from './csv.js';
import { location, TraceError } from './errors.js';
import {
  SHARES_PER_GPU,
  type Workload,
  type WorkloadAgent,
  type WorkloadSession,
} from './types.js';

/** Columns the pod file must have. */
export const OPENB_POD_COLUMNS = [
  'name',
  'cpu_milli',
  'memory_mib',
  'num_gpu',
  'gpu_milli',
  'qos',
  'creation_time',
  'deletion_time',
  'scheduled_time',
] as const;

/** Columns the node file must have. */
export const OPENB_NODE_COLUMNS = ['sn', 'cpu_milli', 'memory_mib', 'gpu', 'model'] as const;

/** The image every openb session runs (the trace records none). */
export const OPENB_IMAGE = 'openb/pod:latest';

export interface OpenbTraceOptions {
  /** Path of `openb_pod_list_default.csv` (or a file with the same columns). */
  podsPath: string;
  /** Path of `openb_node_list_all_node.csv` (or a file with the same columns). */
  nodesPath: string;
  /** Keep only the first `limit` pods (the file is in arrival order). Default: all. */
  limit?: number;
}

/** Reads both files; throws `TraceError` naming file, line and column on the first bad row. */
export async function loadOpenbTrace(options: OpenbTraceOptions): Promise<Workload> {
  const [nodeRows, podRows] = await Promise.all([
    readCsv(options.nodesPath, OPENB_NODE_COLUMNS),
    readCsv(options.podsPath, OPENB_POD_COLUMNS),
  ]);
  const kept = options.limit === undefined ? podRows : podRows.slice(0, options.limit);
  const agents = nodeRows.map(nodeToAgent);
  const sessions = kept.map(podToSession);
  rejectDuplicates(
    agents.map((a) => a.id),
    nodeRows,
    'sn',
  );
  rejectDuplicates(
    sessions.map((s) => s.spec.id ?? ''),
    kept,
    'name',
  );
  // A stable sort: the trace is already in arrival order, this only guards hand-made files.
  sessions.sort((a, b) => a.arrivalMs - b.arrivalMs);
  return { agents, sessions };
}

/** One node row as an agent. */
export function nodeToAgent(row: CsvRow): WorkloadAgent {
  const gpus = intField(row, 'gpu', { min: 0 });
  const capacity = compactSlots({
    cpu: intField(row, 'cpu_milli', { min: 0 }),
    mem: intField(row, 'memory_mib', { min: 0 }),
    'cuda.device': gpus,
    'cuda.shares': gpus * SHARES_PER_GPU,
  });
  const model = (row.fields.get('model') ?? '').trim();
  return { id: textField(row, 'sn'), capacity, labels: model === '' ? {} : { model } };
}

/** One pod row as a single-kernel session. */
export function podToSession(row: CsvRow): WorkloadSession {
  const slots = compactSlots({
    cpu: intField(row, 'cpu_milli', { min: 0 }),
    mem: intField(row, 'memory_mib', { min: 0 }),
    ...podGpuSlots(row),
  });
  const createdS = intField(row, 'creation_time', { min: 0 });
  const session: WorkloadSession = {
    arrivalMs: createdS * 1000,
    spec: {
      id: textField(row, 'name'),
      owner: textField(row, 'qos'),
      image: OPENB_IMAGE,
      kernels: [{ slots }],
    },
  };
  const lifetimeMs = podLifetimeMs(row);
  if (lifetimeMs !== undefined) session.lifetimeMs = lifetimeMs;
  return session;
}

/**
 * Whole GPUs: `cuda.device` and the same GPUs in `cuda.shares`; a shared GPU: its fraction in
 * `cuda.shares`; a CPU pod: nothing.
 */
function podGpuSlots(row: CsvRow): Slots {
  const count = intField(row, 'num_gpu', { min: 0 });
  if (count === 0) {
    intField(row, 'gpu_milli', { min: 0, max: 0 });
    return {};
  }
  const milli = intField(row, 'gpu_milli', { min: 1, max: SHARES_PER_GPU });
  if (count > 1 || milli === SHARES_PER_GPU) {
    return { 'cuda.device': count, 'cuda.shares': count * SHARES_PER_GPU };
  }
  return { 'cuda.shares': milli };
}

function podLifetimeMs(row: CsvRow): number | undefined {
  const scheduled = optionalIntField(row, 'scheduled_time', { min: 0 });
  if (scheduled === undefined) return undefined;
  const deleted = optionalIntField(row, 'deletion_time', { min: scheduled });
  return deleted === undefined ? undefined : (deleted - scheduled) * 1000;
}

function compactSlots(slots: Record<string, number>): Slots {
  return Object.fromEntries(Object.entries(slots).filter(([, amount]) => amount !== 0)) as Slots;
}

function rejectDuplicates(ids: string[], rows: CsvRow[], column: string): void {
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (seen.has(id)) throw duplicate(rows[index]!, column, id);
    seen.add(id);
  });
}

function duplicate(row: CsvRow, column: string, id: string): TraceError {
  const at = location(row.file, row.line, column);
  const message = `${at}: '${id}' appears more than once; ids must be unique`;
  return new TraceError('bad-value', { file: row.file, line: row.line, column }, message);
}
