/** Configuration: schema, embedded default, loader. */
export * from './defaults.js';
export * from './load.js';
export * from './schema.js';
