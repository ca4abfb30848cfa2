import { readFileSync } from 'node:fs';
import type { CamerasConfig, Problem } from '@cityedge/contract';

export interface CameraCredentialsResolved {
  username: string;
  password: string;
}

export type CredentialsLookup = { ok: true; credentials: CameraCredentialsResolved | undefined } | { ok: false; path: string; message: string };

/** Reads a password file; default readFileSync. Relative paths were made absolute when the configuration was loaded. */
export type ReadFile = (path: string) => string;

const defaultRead: ReadFile = (p) => readFileSync(p, 'utf8');

/**
 * The credentials a camera uses: the entry it names, else the one called "default", else none.
 * A passwordFile is read now (one trailing newline dropped), so a file fixed or rotated on the
 * gateway is seen at the next lookup. Never throws: an unreadable file is a problem naming the
 * config path and the file, for the camera to be marked misconfigured (or check-config to fail).
 */
export function lookUpCredentials(config: CamerasConfig, name: string | undefined, read: ReadFile = defaultRead): CredentialsLookup {
  const key = name ?? 'default';
  const entry = config.credentials[key];
  if (!entry) return { ok: true, credentials: undefined };
  if (entry.passwordFile === undefined) return { ok: true, credentials: { username: entry.username, password: entry.password ?? '' } };
  try {
    return { ok: true, credentials: { username: entry.username, password: read(entry.passwordFile).replace(/\r?\n$/, '') } };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    return { ok: false, path: `cameras.credentials.${key}.passwordFile`, message: `cannot read "${entry.passwordFile}" (${code})` };
  }
}

/**
 * For check-config: every camera credentials entry whose password file cannot be read now. The
 * agent itself does not refuse to start over one (it marks the cameras using it misconfigured and
 * goes on), but a technician checking a configuration must see it.
 */
export function cameraCredentialProblems(config: CamerasConfig, read: ReadFile = defaultRead): Problem[] {
  if (!config.enabled) return [];
  const problems: Problem[] = [];
  for (const name of Object.keys(config.credentials)) {
    const r = lookUpCredentials(config, name, read);
    if (!r.ok) problems.push({ path: r.path, message: r.message });
  }
  return problems;
}
