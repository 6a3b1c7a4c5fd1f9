import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type Run, requireBuiltCli } from './helpers/cli-process.js';

/** The value cells of a table row, by its label. */
function row(stdout: string, label: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label}  `) || l === label);
  if (line === undefined) throw new Error(`no row '${label}' in:\n${stdout}`);
  return line
    .slice(label.length)
    .trim()
    .split(/\s{2,}/);
}

/** The policy names heading the table (the third line). */
function columns(stdout: string): string[] {
  return (stdout.split('\n')[2] ?? '').trim().split(/\s{2,}/);
}

let dir: string;
beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), 'cli-replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('session-lifecycle replay with the generator and no faults', () => {
  let run: Run;
  let reportPath: string;
  beforeAll(async () => {
    reportPath = join(dir, 'report.json');
    run = await cli(
      'replay',
      '--sessions',
      '20',
      '--agents',
      '10',
      '--seed',
      '1',
      '--report',
      reportPath,
    );
  });

  it('exits 0', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('brings every session to RUNNING on the first attempts', () => {
    expect(run.stdout.split('\n')[0]).toBe(
      'replay of the built-in generator (20 sessions, 10 agents); faults none, seed 1, picker ' +
        'fifo, selector concentrated, store memory',
    );
    expect(columns(run.stdout)).toEqual(['guarded']);
    expect(row(run.stdout, 'sessions')).toEqual(['20']);
    expect(row(run.stdout, 'rejected at submit')).toEqual(['0']);
    expect(row(run.stdout, 'reached RUNNING')).toEqual(['20']);
    expect(row(run.stdout, '  RUNNING')).toEqual(['20']);
    expect(row(run.stdout, '  pull x1')).toEqual(['20']);
    expect(row(run.stdout, '  create x1')).toEqual(['20']);
    expect(run.stdout).not.toMatch(/CANCELLED|ERROR|x2/);
  });

  it('reports no leaks, no orphans and a settled end', () => {
    expect(row(run.stdout, 'leaked reservations')).toEqual(['0']);
    expect(row(run.stdout, 'orphan kernels')).toEqual(['0']);
    expect(row(run.stdout, 'ended')).toEqual(['settled']);
    expect(row(run.stdout, '  p50')[0]).toMatch(/^\d+(\.\d)? (ms|s|min)$/);
  });

  it('writes the same figures to the JSON report', async () => {
    const report = JSON.parse(await readFile(reportPath, 'utf8'));
    expect(report.source).toEqual({
      kind: 'generator',
      detail: 'the built-in generator',
      sessions: 20,
      agents: 10,
    });
    expect(report.runs).toHaveLength(1);
    const [result] = report.runs;
    expect(result.outcomes).toEqual([{ status: 'RUNNING', reason: null, count: 20 }]);
    expect(result.attempts).toEqual({ pull: { '1': 20 }, create: { '1': 20 } });
    expect([result.reachedRunning, result.leaks, result.orphans]).toEqual([20, [], []]);
  });
});

describe('session-lifecycle replay --policy both', () => {
  it('prints guarded and seed side by side with the difference', async () => {
    const run = await cli(
      'replay',
      '--sessions',
      '12',
      '--agents',
      '6',
      '--seed',
      '3',
      '--policy',
      'both',
    );
    expect(run.code).toBe(0);
    expect(columns(run.stdout)).toEqual(['guarded', 'seed']);
    expect(row(run.stdout, 'reached RUNNING')).toEqual(['12', '12']);
    expect(row(run.stdout, 'leaked reservations')).toEqual(['0', '0']);
    expect(row(run.stdout, 'orphan kernels')).toEqual(['0', '0']);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
      'guarded brings 0 more sessions to RUNNING than seed (12 vs 12 of 12)',
    );
  });
});

describe('session-lifecycle replay on an openb-format trace', () => {
  it('replays the pods onto the nodes', async () => {
    const podsPath = join(dir, 'pods.csv');
    const nodesPath = join(dir, 'nodes.csv');
    await writeFile(
      podsPath,
      [
        'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,' +
          'creation_time,deletion_time,scheduled_time',
        'p0,4000,8192,1,1000,,LS,Running,0,100,0',
        'p1,2000,4096,1,500,,BE,Running,5,100,5',
        'p2,1000,1024,0,0,,BE,Running,7,100,7',
      ].join('\n'),
    );
    await writeFile(nodesPath, 'sn,cpu_milli,memory_mib,gpu,model\nn0,16000,65536,2,T4\n');
    const run = await cli('replay', '--pods', podsPath, '--nodes', nodesPath);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(
      /^replay of the openb trace \(3 sessions, 1 agents\)/,
    );
    expect(row(run.stdout, 'reached RUNNING')).toEqual(['3']);
    expect(row(run.stdout, 'leaked reservations')).toEqual(['0']);
  });
});

describe('session-lifecycle replay option errors', () => {
  it('exits 2 naming --policy', async () => {
    const run = await cli('replay', '--policy', 'retry');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe("error: --policy is 'retry': expected one of guarded, seed, both\n");
  });

  it('exits 2 naming --faults', async () => {
    const run = await cli('replay', '--faults', 'create.transient=2');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "error: --faults is 'create.transient=2': expected a rate from 0 to 1 for " +
        "'create.transient', got '2'\n",
    );
  });

  it('exits 2 when --pods comes without --nodes', async () => {
    const run = await cli('replay', '--pods', 'pods.csv');
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'error: --nodes is missing: --pods needs --nodes too (or give neither to use the ' +
        'generator)\n',
    );
  });

  it('exits 2 on an unknown option', async () => {
    const run = await cli('replay', '--bogus');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: unknown option '--bogus'/);
  });

  it('exits 2 naming the file when a trace cannot be read', async () => {
    const missing = join(dir, 'absent.csv');
    const run = await cli('replay', '--pods', missing, '--nodes', missing);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^error: cannot read ${missing}: ENOENT`));
  });
});
