#!/usr/bin/env node
/**
 * One session driven through the chart as a live XState actor, watched in the Stately
 * inspector. Run `npm run build` first, then:
 *
 *   node examples/live-session.mjs [port] [--fast] [--no-wait]
 *
 * and open the printed address. The script waits for the page to connect, then plays the
 * agent's part step by step: placement, an image pull that fails once (a transient failure,
 * retried after a backoff), kernel creation, running, and termination. `--fast` plays it
 * without pauses; `--no-wait` starts without waiting for a browser.
 */
import { createActor, waitFor } from 'xstate';
import { defaultPolicy, sessionMachine, statusOf, substateOf } from '../dist/src/index.js';
import { hideOwner, startInspection } from '../dist/src/inspect/index.js';

const args = process.argv.slice(2);
const fast = args.includes('--fast');
const port = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 8080);
const pauseMs = fast ? 0 : 1_500;
const agentId = 'agent-1';
const kernelId = 'main';

const inspection = await startInspection({ port, redact: hideOwner });
process.stderr.write(`open ${inspection.pageUrl} (Ctrl+C to stop)\n`);
if (!args.includes('--no-wait')) {
  process.stderr.write('waiting for the page to connect...\n');
  // The script's own inspector is the first connection; the page is the second.
  await inspection.server.whenClients(2);
}

// A short backoff, without jitter, so the retry is easy to follow.
const backoffMs = fast ? 20 : 3_000;
const policy = {
  ...defaultPolicy,
  pull: { ...defaultPolicy.pull, initialDelayMs: backoffMs, jitter: 'none' },
};
const now = Date.now();
const spec = {
  id: 'demo-session',
  owner: 'alice',
  image: 'python:3.12',
  priority: 0,
  kernels: [{ id: kernelId, slots: { cpu: 2_000, mem: 4_096, 'cuda.shares': 500 } }],
  dependsOn: [],
  submittedAt: now,
};
const actor = createActor(sessionMachine, {
  input: { spec, policy, seed: 1, now },
  inspect: inspection.inspector.actorObserver,
});
actor.subscribe((snapshot) => {
  const substate = substateOf(snapshot);
  process.stdout.write(`${statusOf(snapshot)}${substate ? ` (${substate})` : ''}\n`);
});
actor.start();

/** Sends one event (stamped with the time) and pauses so the change can be seen. */
async function step(event) {
  actor.send({ ...event, now: Date.now() });
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
}
const attempt = () => actor.getSnapshot().context.attempts.pull;

await step({ type: 'SCHEDULE', placement: { [kernelId]: agentId } });
await step({ type: 'PREPARE' });
await step({ type: 'IMAGE_PULLING', agentId, attempt: attempt() });
const failure = { class: 'transient', code: 'registry-unavailable', message: 'registry 503' };
await step({ type: 'PULL_FAILED', agentId, attempt: attempt(), failure });
// The chart backs off, then asks the agent to pull again (attempt 2).
await waitFor(actor, (snapshot) => snapshot.context.attempts.pull === 2);
await step({ type: 'IMAGE_PULLING', agentId, attempt: attempt() });
await step({ type: 'IMAGE_PULLED', agentId, attempt: attempt() });
await step({ type: 'START' });
const create = () => actor.getSnapshot().context.attempts.create;
await step({ type: 'KERNEL_CREATING', agentId, kernelId, attempt: create() });
await step({ type: 'KERNEL_STARTED', agentId, kernelId, attempt: create() });
await step({ type: 'TERMINATE' });
await step({ type: 'KERNEL_TERMINATED', agentId, kernelId, outcome: 'TERMINATED' });

actor.stop();
if (fast) {
  await inspection.close();
} else {
  process.stderr.write(`done; still serving ${inspection.pageUrl} until Ctrl+C\n`);
  process.once('SIGINT', () => inspection.close());
}
