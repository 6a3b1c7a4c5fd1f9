/** Workloads for replays: the openb trace loader and the built-in generator. */
export { type CsvRow, parseCsv, readCsv } from './csv.js';
export { TraceError, type TraceErrorCode, WorkloadOptionError } from './errors.js';
export { type GeneratorOptions, generateWorkload } from './generator.js';
export {
  loadOpenbTrace,
  OPENB_IMAGE,
  OPENB_NODE_COLUMNS,
  OPENB_POD_COLUMNS,
  type OpenbTraceOptions,
} from './openb.js';
export {
  SHARES_PER_GPU,
  type Workload,
  type WorkloadAgent,
  type WorkloadSession,
} from './types.js';
