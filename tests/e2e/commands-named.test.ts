import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../device-registry/src/cli/main.js';
import { AGENT_BUILD } from '../global-setup.js';

/**
 * Every message, script and document that tells a person to run one of our commands names a
 * command that exists: a package bin (what the installers put on PATH) with that subcommand.
 */
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };
const tsupConfig = readFileSync('tsup.config.ts', 'utf8');

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|sh|md|service|ya?ml|example)$/.test(name) && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const agentHelp = spawnSync(process.execPath, [AGENT_BUILD, '--help'], { encoding: 'utf8' }).stdout;
const agentCommands = new Set([...agentHelp.split('\noptions:')[0]!.matchAll(/^ {2}([a-z-]+)\s/gm)].map((m) => m[1]!));
const edgectlCommands = new Set(COMMANDS.map((c) => `${c.group} ${c.name}`));
const edgectlGroups = new Set(COMMANDS.map((c) => c.group));

describe('commands named to users', () => {
  it('are package bins built by the build', () => {
    expect(Object.keys(pkg.bin).sort()).toEqual(['cityedge-agent', 'cityedge-registry', 'cityedge-sim', 'edgectl']);
    for (const [name, target] of Object.entries(pkg.bin)) {
      const entry = /^dist\/(.+)\.js$/.exec(target)?.[1];
      expect(entry, name).toBeDefined();
      expect(tsupConfig, `tsup builds ${target}`).toMatch(new RegExp(`'?${entry}'?: '`));
    }
    expect([...agentCommands].sort()).toEqual(['check-config', 'enroll', 'run', 'version']);
  });

  it('with subcommands that exist, everywhere they are written', () => {
    const sources = ['README.md', 'deploy', 'device-registry', 'edge-agent', 'simulators', 'scripts', 'contract'].flatMap((p) => (statSync(p).isDirectory() ? files(p) : [p]));
    const wrong: string[] = [];
    let seen = 0;
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?<![\w/.-])cityedge-agent (?!\w+\.)([a-z][a-z-]*)/g)) {
        seen++;
        if (!agentCommands.has(m[1]!)) wrong.push(`${file}: cityedge-agent ${m[1]}`);
      }
      for (const m of text.matchAll(/(?<![\w/.-])edgectl ([a-z]+) ([a-z]+)/g)) {
        if (!edgectlGroups.has(m[1]!)) continue; // prose ("edgectl writes and ...")
        seen++;
        // A group with a command of its own (`edgectl events <gateway>`) takes any word after it.
        if (!edgectlCommands.has(`${m[1]} ${m[2]}`) && !edgectlCommands.has(`${m[1]} `)) wrong.push(`${file}: edgectl ${m[1]} ${m[2]}`);
      }
    }
    expect(seen).toBeGreaterThan(20);
    expect(wrong).toEqual([]);
  });
});
