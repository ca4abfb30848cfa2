import { build } from 'tsup';
import { agentBundleOptions, bundleOptions } from '../tsup.config.js';

/** Tests that run the agent as a real process (SIGKILL, CLI) use this build of it. */
export const AGENT_BUILD = 'tests/.build/cityedge-agent.js';
/** Tests that run edgectl as a technician does (output, exit codes) use this build of it. */
export const EDGECTL_BUILD = 'tests/.build/edgectl/edgectl.js';

export default async function setup(): Promise<void> {
  await build({ ...agentBundleOptions, config: false, entry: { 'cityedge-agent': 'edge-agent/src/main.ts' }, outDir: 'tests/.build', sourcemap: false });
  // Built apart so the agent's bundle (and what it loads at start) stays as it ships.
  await build({ ...bundleOptions, config: false, entry: { edgectl: 'device-registry/src/cli/edgectl.ts' }, outDir: 'tests/.build/edgectl', sourcemap: false, clean: false });
}
