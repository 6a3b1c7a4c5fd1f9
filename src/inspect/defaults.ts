/** Addresses of the local inspector server (no imports: the CLI reads them without `ws`). */

/** The only interface the server binds to. */
export const INSPECTOR_HOST = '127.0.0.1';
/** Port used when none is given (the one `@statelyai/inspect` uses too). */
export const DEFAULT_INSPECTOR_PORT = 8080;
