import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const CENTRAL_DIR = 'deploy/central';

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  restart?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** `KEY=value` lines of an env file (comments and blank lines skipped). */
export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** Every `${NAME...}` the compose file interpolates. */
export function interpolatedNames(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!))];
}

/**
 * Compose's interpolation as `docker compose --env-file` does it: `${X}`, `${X:-default}`,
 * `${X:?error}` (an unset or empty X is the error), and `$$` for a literal `$`.
 */
export function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === '$$') return '$';
    const v = env[name!];
    if (op === '?' && (v === undefined || v === '')) throw new Error(`compose: ${name}: ${arg}`);
    if (op === '-' && (v === undefined || v === '')) return arg ?? '';
    return v ?? '';
  });
}

/** The compose file, interpolated with the env file's values. */
export function loadCompose(env: Record<string, string>): { raw: string; compose: ComposeFile } {
  const raw = readFileSync(`${CENTRAL_DIR}/docker-compose.yml`, 'utf8');
  return { raw, compose: parse(interpolate(raw, env)) as ComposeFile };
}
