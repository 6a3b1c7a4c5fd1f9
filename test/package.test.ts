/**
 * The package as a user gets it: packed with `npm pack`, installed from the tarball into a fresh
 * project, then used from plain JavaScript and from type-checked TypeScript. Needs `dist/` (the
 * `test` script builds before running the tests) and an npm cache holding the dependencies, as
 * `npm ci` leaves it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'node_modules/.bin');
/** Packing and installing take seconds; type-checking can take half a minute on a busy machine. */
const SETUP_TIMEOUT_MS = 180_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment without the `npm_*` variables `npm test` sets: a nested npm would otherwise
 * take this repository's settings (its local prefix among them) for the temporary project's.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
  );
  return { ...env, NO_COLOR: '1', FORCE_COLOR: '0' };
}

/** Runs a command to completion; never throws on a non-zero exit. */
function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((done, fail) => {
    execFile(
      command,
      args,
      { cwd, env: cleanEnv(), maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return fail(error);
        done({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs a command that must succeed, failing with its output otherwise. */
async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  }
  return result.stdout;
}

/** Plain JavaScript: one session driven to RUNNING in virtual time. */
const SMOKE_JS = `
import {
  createSessionManager,
  ManualClock,
  MemoryStore,
  SimulatedAgents,
  slots,
} from 'session-lifecycle';

const clock = new ManualClock(0);
const store = new MemoryStore();
const agents = new SimulatedAgents({ clock, seed: 7 });
const manager = createSessionManager({ store, agents, clock });
manager.subscribe((notice) => {
  if (notice.from !== notice.to) console.log(\`\${notice.at} \${notice.from} -> \${notice.to}\`);
});

const capacity = { cpu: 4000, mem: 16384 };
agents.addAgent({ id: 'a1', capacity });
await manager.registerAgent({ id: 'a1', capacity, schedulable: true });
const id = await manager.submit({
  id: 's1',
  owner: 'alice',
  image: 'python:3.12',
  kernels: [{ slots: { cpu: 1000, mem: 2048 } }],
});

for (let step = 0; step < 100; step += 1) {
  agents.deliverDue(clock.now());
  await manager.tick();
  if ((await manager.get(id)).status === 'RUNNING') break;
  clock.advance(1000);
}

const view = await manager.get(id);
const reserved = store.stats().agents[0].reserved;
console.log(\`\${view.id} \${view.status} on \${view.placement.k0}\`);
const free = slots.sub(capacity, reserved);
console.log(\`reserved \${JSON.stringify(reserved)} free \${JSON.stringify(free)}\`);
`;

/** What the script prints: the status changes with their virtual times, then the result. */
const SMOKE_STDOUT = [
  '0 PENDING -> SCHEDULED',
  '1000 SCHEDULED -> PREPARING',
  '21000 PREPARING -> PREPARED',
  '21000 PREPARED -> CREATING',
  '24000 CREATING -> RUNNING',
  's1 RUNNING on a1',
  'reserved {"cpu":1000,"mem":2048} free {"cpu":3000,"mem":14336}',
  '',
].join('\n');

/** TypeScript that must type-check against the published declarations. */
const CHECK_TS = `
import {
  createSessionManager,
  decide,
  defaultPolicy,
  type Effect,
  ManualClock,
  MemoryStore,
  type SessionEvent,
  type SessionManager,
  type SessionView,
  SimulatedAgents,
  SpecError,
  type Status,
  sessionMachine,
  start,
  statusOf,
} from 'session-lifecycle';

const clock = new ManualClock(0);
const agents = new SimulatedAgents({ clock, faults: 'light' });
const manager: SessionManager = createSessionManager({
  store: new MemoryStore(),
  agents,
  clock,
  picker: 'drf',
  selector: 'dispersed',
});

const { next, effects } = start({
  spec: {
    id: 's1',
    owner: 'alice',
    image: 'img:1',
    priority: 0,
    kernels: [{ id: 'k0', slots: { cpu: 1000 } }],
    dependsOn: [],
    submittedAt: 0,
  },
  policy: defaultPolicy,
  seed: 1,
  now: 0,
});
const event: SessionEvent = { type: 'CANCEL', now: 1 };
const after = decide(next, event);
const status: Status = statusOf(after.next);
const kinds: Effect['type'][] = [...effects, ...after.effects].map((effect) => effect.type);

export async function describe(id: string): Promise<string> {
  const view: SessionView | undefined = await manager.get(id);
  return \`\${sessionMachine.id} \${status} \${kinds.length} \${view?.status ?? 'none'}\`;
}
export function isSpecError(error: unknown): error is SpecError {
  return error instanceof SpecError;
}
// @ts-expect-error: not a picker
createSessionManager({ store: new MemoryStore(), agents, clock, picker: 'random' });
`;

/**
 * A strict project that checks every declaration file it loads (ours and xstate's) except
 * TypeScript's own. Without `@types/node`: the main entry's types need none. `DOM` supplies
 * `AbortSignal`, which xstate's declarations name (a Node project gets it from `@types/node`).
 */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023', 'DOM'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    skipDefaultLibCheck: true,
  },
  files: ['check.ts'],
};

let temp: string;
let app: string;
let tarball: string;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/src/index.js'))) {
    throw new Error('dist/src/index.js is missing: run `npm run build` first');
  }
  temp = await mkdtemp(join(tmpdir(), 'session-lifecycle-pack-'));
  app = join(temp, 'app');
  await mkdir(app);

  // `dist/` is already built: skip the `prepack` build.
  const packed = await ok(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', temp],
    ROOT,
  );
  tarball = join(temp, JSON.parse(packed)[0].filename);

  const manifest = { name: 'app', private: true, type: 'module' };
  await writeFile(join(app, 'package.json'), JSON.stringify(manifest));
  await ok(
    'npm',
    ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
    app,
  );
  await writeFile(join(app, 'smoke.mjs'), SMOKE_JS);
  await writeFile(join(app, 'check.ts'), CHECK_TS);
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG));
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (temp) await rm(temp, { recursive: true, force: true });
});

describe('the packed package', { timeout: 120_000 }, () => {
  it('holds only the built library, its README, its licence and its manifest', async () => {
    const listed = await ok('tar', ['-tzf', tarball], temp);
    const tops = new Set(
      listed
        .trim()
        .split('\n')
        .map((path) => path.split('/').slice(1, 3).join('/')),
    );

    expect([...tops].sort()).toEqual([
      'LICENSE',
      'README.md',
      'dist/machines',
      'dist/src',
      'package.json',
    ]);
    expect(listed).not.toMatch(/\.map\n|\.test\.|dist\/test|dist\/bench/);
  });

  it('declares no script that npm would run when installing it', async () => {
    const installed = join(app, 'node_modules/session-lifecycle/package.json');
    const { scripts } = JSON.parse(await readFile(installed, 'utf8'));
    const hooks = ['preinstall', 'install', 'postinstall', 'prepare'];

    expect(hooks.filter((hook) => hook in scripts)).toEqual([]);
    // The tarball is built when it is packed instead.
    expect(scripts.prepack).toBe('npm run build');
  });

  it('drives a session to RUNNING from plain JavaScript', async () => {
    const result = await run(process.execPath, ['smoke.mjs'], app);

    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(SMOKE_STDOUT);
    expect(result.code).toBe(0);
  });

  it('type-checks a strict TypeScript user of the API with the project compiler', async () => {
    const result = await run(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], app);

    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
  });

  it('loads the main entry without the optional database and inspector peers', async () => {
    const installed = ['pg', '@electric-sql/pglite', '@statelyai/inspect', 'ws'].filter((name) =>
      existsSync(join(app, 'node_modules', name)),
    );
    const script =
      `const m = await import('session-lifecycle'); console.log(typeof ` +
      `m.createSessionManager);`;
    const main = await run(process.execPath, ['--input-type=module', '-e', script], app);
    const pglite = await run(
      process.execPath,
      ['--input-type=module', '-e', `await import('session-lifecycle/store/pglite');`],
      app,
    );

    expect(installed).toEqual([]);
    expect(main).toEqual({ code: 0, stdout: 'function\n', stderr: '' });
    expect(pglite.code).toBe(1);
    expect(pglite.stderr).toContain("Cannot find package '@electric-sql/pglite'");
  });

  it('resolves every subpath of the exports map', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const script =
      `for (const s of process.argv.slice(1)) ` +
      `console.log(import.meta.resolve(s).replace(/^.*node_modules\\//, ''));`;
    const subpaths = Object.keys(manifest.exports).map((key) =>
      key === '.' ? 'session-lifecycle' : `session-lifecycle${key.slice(1)}`,
    );
    const result = await run(
      process.execPath,
      ['--input-type=module', '-e', script, ...subpaths],
      app,
    );

    expect(result.stdout.trim().split('\n')).toEqual([
      'session-lifecycle/dist/src/index.js',
      'session-lifecycle/dist/src/adapters/store/sql/postgres.js',
      'session-lifecycle/dist/src/adapters/store/sql/pglite.js',
      'session-lifecycle/dist/src/inspect/index.js',
      'session-lifecycle/package.json',
    ]);
  });

  it('passes publint with no errors, warnings or suggestions', async () => {
    const result = await run(join(BIN, 'publint'), ['run', tarball], temp);
    const lines = result.stdout.trim().split('\n');

    expect(lines.at(-1)).toBe('All good!');
    expect(result.code).toBe(0);
  });
});
