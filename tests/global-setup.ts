import { build } from 'tsup';
import { bundleOptions } from '../tsup.config.js';

/** Tests that run the agent as a real process (SIGKILL, CLI) use this build of it. */
export const AGENT_BUILD = 'tests/.build/cityedge-agent.js';

export default async function setup(): Promise<void> {
  await build({ ...bundleOptions, config: false, entry: { 'cityedge-agent': 'edge-agent/src/main.ts' }, outDir: 'tests/.build', sourcemap: false });
}
