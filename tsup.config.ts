import { readFileSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * One build for the programs we ship: the agent, the simulator CLI, the demo and the benchmark.
 * Our workspace packages are TypeScript sources and get bundled in; third-party packages stay
 * external (native modules must, and pino/aedes load files at run time).
 */
export const bundleOptions = {
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  splitting: true,
  dts: false,
  // Our workspace packages are bundled; every other package is loaded from node_modules.
  noExternal: [/^@cityedge\//],
  external: [/^[^./]/],
  define: { __AGENT_VERSION__: JSON.stringify(version) },
  silent: true,
} satisfies Options;

export default defineConfig([
  // The agent alone, so that its lazily loaded parts (the camera stack) stay out of its start-up.
  {
    ...bundleOptions,
    entry: { 'cityedge-agent': 'edge-agent/src/main.ts' },
    outDir: 'dist',
    clean: false,
    silent: false,
  },
  {
    ...bundleOptions,
    entry: {
      'cityedge-sim': 'simulators/src/cli.ts',
      'cityedge-registry': 'device-registry/src/main.ts',
      edgectl: 'device-registry/src/cli/edgectl.ts',
      demo: 'scripts/demo.ts',
      bench: 'bench/index.ts',
      'province-cluster': 'scripts/province-cluster.ts',
    },
    outDir: 'dist',
    clean: false,
    silent: false,
  },
]);
