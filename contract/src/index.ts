export * from './topics.js';
export * from './telemetry.js';
export * from './profile-schema.js';
export * from './config-schema.js';
export * from './profiles.js';
export * from './problems.js';
export * from './resolve.js';
