import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAIN, ROOT, requireBuiltCli } from './helpers/cli-process.js';
import { Viewer } from './inspect-helpers.js';

interface Run {
  child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

function start(...args: string[]): Run {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT });
  const run: Run = { child, stdout: '', stderr: '', exit: Promise.resolve(null) };
  child.stdout.on('data', (chunk) => {
    run.stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    run.stderr += chunk;
  });
  run.exit = new Promise((done) => child.on('close', (code) => done(code)));
  return run;
}

async function until(done: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !done(); waited += 20) {
    if (waited > 30_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(() => {
  requireBuiltCli();
});

describe('session-lifecycle replay --inspect', () => {
  it('prints the page address, streams every run, and serves until SIGINT', async () => {
    const run = start(
      ...['replay', '--sessions', '3', '--agents', '2', '--policy', 'both', '--inspect', '0'],
    );
    await until(() => run.stderr.includes('until Ctrl+C'), 'the serving notice');
    const address = /^inspector: open (http:\/\/127\.0\.0\.1:(\d+)\/) in a browser/.exec(
      run.stderr,
    );
    expect(address).not.toBeNull();
    expect(run.stderr).toContain(
      "(the page loads Stately's inspector UI; session data goes only to this local server)",
    );
    expect(run.stderr).toContain(`inspector: serving ${address![1]} until Ctrl+C\n`);
    expect(run.stdout).toContain('guarded');

    const viewer = await Viewer.connect(`ws://127.0.0.1:${address![2]}`);
    const actors = () => viewer.messages.filter((m) => m.type === '@xstate.actor');
    await until(() => actors().length === 6, 'six actors');
    expect(actors().map((m) => m.sessionId)).toEqual([
      'guarded/session-000000',
      'guarded/session-000001',
      'guarded/session-000002',
      'seed/session-000000',
      'seed/session-000001',
      'seed/session-000002',
    ]);
    viewer.close();

    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
  });

  it('rejects a port out of range with a usage error', async () => {
    const run = start('replay', '--sessions', '1', '--inspect', '70000');
    expect(await run.exit).toBe(2);
    expect(run.stderr).toBe("error: --inspect is '70000': expected an integer from 0 to 65535\n");
  });
});
