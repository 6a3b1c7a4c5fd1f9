/** `replay --inspect [port]`: the option's text and its parsing (no inspector code loaded). */
import { DEFAULT_INSPECTOR_PORT } from '../inspect/defaults.js';
import { parseInteger } from './options.js';

/** Flags and help of the option, for commander. */
export const INSPECT_OPTION = {
  flags: '--inspect [port]',
  description:
    'stream sessions to the Stately inspector through a server on 127.0.0.1:<port> ' +
    `(default ${DEFAULT_INSPECTOR_PORT}, 0 for any free port); keeps serving until Ctrl+C`,
} as const;

/** `undefined` when not given; the default port for a bare `--inspect`; else 0 to 65535. */
export function parseInspectOption(raw: string | boolean | undefined): number | undefined {
  if (raw === undefined || raw === false) return undefined;
  if (raw === true) return DEFAULT_INSPECTOR_PORT;
  return parseInteger('--inspect', raw, 0, 65_535);
}
