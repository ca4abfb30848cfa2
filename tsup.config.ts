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

/**
 * What the agent still loads from node_modules: native modules (better-sqlite3, serialport), pino
 * (its transports run files by path in worker threads), and what only cameras and Firmata boards
 * use, loaded on first use (onvif; jpeg-js, which the JPEG worker loads by path; johnny-five).
 */
const AGENT_EXTERNAL = ['better-sqlite3', 'serialport', '@serialport', 'pino', 'pino-pretty', 'johnny-five', 'firmata-io', 'onvif', 'jpeg-js'];

/**
 * The agent takes its other dependencies into its bundle (zod, yaml, mqtt, prom-client,
 * modbus-serial and theirs), tree-shaken and minified: their sources stay in the V8 heap for the
 * agent's life, and as separate node_modules files they were most of its heap (issue 8, RSS).
 * Names are kept so that stack traces in the journal stay readable.
 */
export const agentBundleOptions = {
  ...bundleOptions,
  noExternal: [/^@cityedge\//, new RegExp(`^(?!(?:${AGENT_EXTERNAL.join('|')})(?:/|$))[^./]`)],
  minifyWhitespace: true,
  minifySyntax: true,
  // Bundled CommonJS modules call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __agentCreateRequire } from 'node:module'; const require = __agentCreateRequire(import.meta.url);" },
} satisfies Options;

export default defineConfig([
  // The agent alone, so that its lazily loaded parts (the camera stack) stay out of its start-up.
  {
    ...agentBundleOptions,
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
