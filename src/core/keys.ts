/**
 * Idempotency keys for agent calls: `${sessionId}/${agentId}/${stage}/${attempt}`.
 *
 * `pull` and `create` keys name the stage attempt, so re-asking the same attempt (a pull
 * recheck, an outbox re-dispatch) reuses the key. Attempts restart at 1 after a reschedule, so
 * from the second placement on the attempt segment names the placement too (`2.r1`: attempt 2
 * after one reschedule). `inspect` and `destroy` keys add a per-session request counter after
 * the create attempt they concern (`3.7`), so every distinct request gets its own key.
 */

/** The stages a key can name. */
export const KEY_STAGES = ['pull', 'create', 'inspect', 'destroy'] as const;
export type KeyStage = (typeof KEY_STAGES)[number];

/** The parts of an idempotency key. */
export interface KeyParts {
  sessionId: string;
  agentId: string;
  stage: KeyStage;
  attempt: number;
  /** Request counter for inspect / destroy keys. */
  discriminator?: number;
  /** Reschedules before this placement, for pull / create keys (0 or absent: the first). */
  placement?: number;
}

/** Builds the key for one agent request. */
export function effectKey(parts: KeyParts): string {
  let segment = `${parts.attempt}`;
  if (parts.discriminator !== undefined) segment += `.${parts.discriminator}`;
  if (parts.placement) segment += `.r${parts.placement}`;
  return `${parts.sessionId}/${parts.agentId}/${parts.stage}/${segment}`;
}

const KEY_PATTERN =
  /^([^/]+)\/([^/]+)\/(pull|create|inspect|destroy)\/(\d+)(?:\.(\d+))?(?:\.r(\d+))?$/;

/**
 * Splits a key built by `effectKey`. Session and agent ids may not contain `/`; returns
 * `undefined` for anything that is not a well-formed key.
 */
export function parseKey(key: string): KeyParts | undefined {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const [, sessionId, agentId, stage, attempt, discriminator, placement] = match;
  const parts: KeyParts = {
    sessionId: sessionId as string,
    agentId: agentId as string,
    stage: stage as KeyStage,
    attempt: Number(attempt),
  };
  if (discriminator !== undefined) parts.discriminator = Number(discriminator);
  if (placement !== undefined) parts.placement = Number(placement);
  return parts;
}
