import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The repository root: the nearest directory up from here holding package-lock.json. */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package-lock.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

/**
 * Bundles a TypeScript script (and our workspace sources it imports) into one ESM file that plain
 * `node` can run as a child process, for tests that must kill a real process. Third-party packages
 * stay external; the file is written under the repository's node_modules/.cache so they resolve.
 */
export async function bundleChildScript(entry: string): Promise<string> {
  const repoRoot = findRepoRoot();
  const outDir = join(repoRoot, 'node_modules', '.cache', 'cityedge-tests');
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${basename(entry, '.ts')}-${process.pid}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    plugins: [
      {
        name: 'workspace-sources',
        setup(b) {
          b.onResolve({ filter: /^@cityedge\// }, (args) => ({ path: join(repoRoot, args.path.slice('@cityedge/'.length), 'src', 'index.ts') }));
        },
      },
    ],
  });
  return outfile;
}
