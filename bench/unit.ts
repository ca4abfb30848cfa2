import { readFileSync } from 'node:fs';

/** How the agent's systemd unit runs it: the benchmark runs the agent the same way, so its figures are a gateway's. */
function unitFile(): string {
  return readFileSync(new URL('../deploy/systemd/cityedge-agent.service', import.meta.url), 'utf8');
}

/** The unit's Nice= (0 when it sets none). */
export function unitNice(): number {
  return Number(/^Nice=(-?\d+)/m.exec(unitFile())?.[1] ?? 0);
}

/** The node flags of the agent's ExecStart line in deploy/systemd/cityedge-agent.service. */
export function unitNodeFlags(): string[] {
  try {
    const unit = unitFile();
    const exec = /^ExecStart=\S*node\s+(.*?)\s+\S*cityedge-agent\.js/m.exec(unit);
    return exec?.[1]?.split(/\s+/).filter((f) => f.startsWith('--')) ?? [];
  } catch {
    return [];
  }
}

/** The unit's Environment= assignments (unquoted KEY=VALUE words, as the unit writes them). */
export function unitEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, line] of unitFile().matchAll(/^Environment=(.*)$/gm)) {
    for (const word of (line ?? '').trim().split(/\s+/)) {
      const eq = word.indexOf('=');
      if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/**
 * The environment systemd gives the agent: the unit's Environment= and a PATH, not the shell's.
 * The shell's matters: e.g. NODE_EXTRA_CA_CERTS makes node load every root certificate at start
 * (1.7 MB of RSS that no gateway has).
 */
export function agentEnvironment(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...unitEnvironment() };
}
