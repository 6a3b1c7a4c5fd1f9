/** The CLI's logger: pino, writing JSON lines to stderr. */
import { pino } from 'pino';
import type { Logger } from '../manager/ports.js';
import type { LogLevel } from './options.js';

/** A synchronous stderr logger, so lines are not lost when the process exits. */
export function stderrLogger(level: LogLevel): Logger {
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}
