/** A progress bar on stderr, shown only when stderr is a terminal. */
import cliProgress from 'cli-progress';

/** Progress callbacks of one run; no-ops when stderr is not a TTY. */
export interface Progress {
  update(settled: number, total: number): void;
  stop(): void;
}

/** A bar labelled with the policy, or silent callbacks off a terminal. */
export function startProgress(label: string, total: number): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(8)} [{bar}] {value}/{total} settled | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let last = 0;
  return {
    update(settled) {
      // Redrawing on every round would cost more than the round itself on big replays.
      if (settled !== last) bar.update(settled);
      last = settled;
    },
    stop() {
      bar.stop();
    },
  };
}
