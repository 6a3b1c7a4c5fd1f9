import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { AnyStateMachine } from 'xstate';
import { sessionMachine } from '../../machines/session.machine.js';
import { renderLifecycleDoc, renderMachineJson } from '../core/diagram.js';

/** The generated files, relative to the output folder. */
export const DIAGRAM_FILES = {
  lifecycle: 'lifecycle.md',
  machine: 'session.machine.json',
} as const;

/** Writes `lifecycle.md` and `session.machine.json` for `machine` into `outDir`. */
export async function writeDiagramFiles(
  outDir: string,
  machine: AnyStateMachine = sessionMachine,
): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written = [
    [join(outDir, DIAGRAM_FILES.lifecycle), renderLifecycleDoc(machine)],
    [join(outDir, DIAGRAM_FILES.machine), renderMachineJson(machine)],
  ] as const;
  for (const [path, text] of written) await writeFile(path, text, 'utf8');
  return written.map(([path]) => path);
}

/**
 * Adds `diagram [--out <dir>]`: regenerates the lifecycle document (Mermaid diagram, states,
 * failure classes, policy defaults) and the chart's JSON for Stately's visual tools.
 */
export function registerDiagramCommand(program: Command): Command {
  return program
    .command('diagram')
    .description('write docs/lifecycle.md and docs/session.machine.json from the chart')
    .option('--out <dir>', 'folder to write into', 'docs')
    .action(async (options: { out: string }) => {
      const paths = await writeDiagramFiles(options.out);
      for (const path of paths) process.stdout.write(`wrote ${path}\n`);
    });
}
