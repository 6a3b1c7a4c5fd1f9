export * from './core/effects.js';
export * from './core/events.js';
export * from './core/types.js';
export type * from './manager/ports.js';
export * from './policy/types.js';
