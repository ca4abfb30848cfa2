/** Replaced at build time by tsup (define); the source value is used by tests. */
declare const __AGENT_VERSION__: string | undefined;
export const AGENT_VERSION: string = typeof __AGENT_VERSION__ === 'string' ? __AGENT_VERSION__ : '0.1.0-dev';
