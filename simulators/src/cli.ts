#!/usr/bin/env node
/** Entry point of the `cityedge-sim` command; everything else is in cli-run.ts. */
import { runCli } from './cli-run.js';

try {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
} catch (err) {
  process.stderr.write(`cityedge-sim: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
