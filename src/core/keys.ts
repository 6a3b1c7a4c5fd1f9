/**
 * Idempotency keys for agent calls: `${sessionId}/${agentId}/${stage}/${attempt}`.
 *
 * `pull` and `create` keys name the stage attempt, so re-asking the same attempt (a pull
 * recheck, an outbox re-dispatch) reuses the key. `inspect` and `destroy` keys add a
 * discriminator after the create attempt they concern (`3.7`): a per-session request counter,
 * so every distinct inspection or destroy request gets its own key.
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
}

/** Builds the key for one agent request. */
export function effectKey(parts: KeyParts): string {
  const attempt =
    parts.discriminator === undefined
      ? `${parts.attempt}`
      : `${parts.attempt}.${parts.discriminator}`;
  return `${parts.sessionId}/${parts.agentId}/${parts.stage}/${attempt}`;
}

/**
 * Splits a key built by `effectKey`. Session and agent ids may not contain `/`; returns
 * `undefined` for anything that is not a well-formed key.
 */
export function parseKey(key: string): KeyParts | undefined {
  const match = /^([^/]+)\/([^/]+)\/(pull|create|inspect|destroy)\/(\d+)(?:\.(\d+))?$/.exec(key);
  if (!match) return undefined;
  const [, sessionId, agentId, stage, attempt, discriminator] = match;
  const parts: KeyParts = {
    sessionId: sessionId as string,
    agentId: agentId as string,
    stage: stage as KeyStage,
    attempt: Number(attempt),
  };
  if (discriminator !== undefined) parts.discriminator = Number(discriminator);
  return parts;
}
