/** The public domain API: pure rules, no I/O, the clock passed in. */
export * from './callback-id.js';
export * from './closures.js';
export * from './errors.js';
export * from './fingerprint.js';
export * from './lifecycle.js';
export * from './limits.js';
export * from './phone.js';
export * from './policy.js';
export * from './reattempt.js';
export * from './slots.js';
export * from './time.js';
export * from './types.js';
export * from './validate.js';
