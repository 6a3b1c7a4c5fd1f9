#!/usr/bin/env node
/** `session-lifecycle`: the command-line tool (replay, diagram). */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import {
  CorruptRowError,
  SchemaTooNewError,
  StoreUnavailableError,
} from '../adapters/store/sql/errors.js';
import { TraceError } from '../workload/errors.js';
import { registerReplayCommand } from './command.js';
import { registerDiagramCommand } from './diagram.js';
import { CliOptionError, USAGE_EXIT_CODE } from './errors.js';

/** Exit code for a failure that is not the user's input (a bug, a broken store). */
export const FAILURE_EXIT_CODE = 1;

/** The program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('session-lifecycle')
    .description('the lifecycle of compute sessions, as one statechart with guarded retries')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerReplayCommand(program);
  registerDiagramCommand(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Parses `argv`, runs the command and returns the exit code (never throws). */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return exitCodeOf(error);
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message already; help and version exit 0.
    return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
  }
  if (error instanceof CliOptionError || error instanceof TraceError) {
    process.stderr.write(`error: ${error.message}\n`);
    return USAGE_EXIT_CODE;
  }
  if (isStoreError(error)) {
    process.stderr.write(`error: ${error.message}\n`);
    return FAILURE_EXIT_CODE;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`error: ${detail}\n`);
  return FAILURE_EXIT_CODE;
}

/** The database behind `--store` is out of reach, too new or holds a bad row: no stack trace. */
function isStoreError(error: unknown): error is Error {
  return (
    error instanceof StoreUnavailableError ||
    error instanceof SchemaTooNewError ||
    error instanceof CorruptRowError
  );
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv);
}
