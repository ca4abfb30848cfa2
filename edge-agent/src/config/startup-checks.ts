import { accessSync, constants, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import type { GatewayConfig, Problem } from '@cityedge/contract';
import { SCHEMA_VERSION } from '../store/outbox-schema.js';

/**
 * What the schema cannot see and `run` would otherwise trip over after `check-config` passed:
 * the files a configuration names (password and TLS files) and where its state goes. The same
 * checks run in `check-config`, before `run` starts anything, and on every configuration
 * delivered over the air, so a configuration that validates is one that starts.
 */

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isFIFO()) return 'a named pipe';
  if (s.isSocket()) return 'a socket';
  return 'not a file';
}

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file (ENOENT)';
    case 'EACCES':
    case 'EPERM':
      return `not readable by this user (${code})`;
    case 'ENOTDIR':
      return 'a part of the path is not a directory (ENOTDIR)';
    case 'ELOOP':
      return 'too many symbolic links (ELOOP)';
    default:
      return code ?? String(err);
  }
}

/** A file the agent reads at start: it exists, is a regular file and this user may read it. */
function checkReadableFile(field: string, file: string): Problem | undefined {
  try {
    const s = statSync(file);
    if (!s.isFile()) return { path: field, message: `${file}: not a regular file (${kindOf(s)})` };
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return { path: field, message: `${file}: ${errnoText(err)}` };
  }
}

/** The password and TLS files of `forwarding` (already made absolute by the loader). */
export function checkReferencedFiles(config: GatewayConfig): Problem[] {
  const fwd = config.forwarding;
  const files: Array<[string, string | undefined]> = [
    ['forwarding.passwordFile', fwd.passwordFile],
    ['forwarding.tls.caFile', fwd.tls?.caFile],
    ['forwarding.tls.certFile', fwd.tls?.certFile],
    ['forwarding.tls.keyFile', fwd.tls?.keyFile],
  ];
  return files.flatMap(([field, file]) => (file === undefined ? [] : (checkReadableFile(field, file) ?? [])));
}

/** Where a state file lives: a relative path is taken from the state directory. */
export function statePath(stateDir: string, path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(stateDir, path);
}

/** The deepest part of `path` that exists, with symbolic links resolved, and the rest appended. */
function realish(path: string): { real: string; existing: string } {
  let existing = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return { real: join(realpathSync(existing), ...rest.reverse()), existing };
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return { real: resolve(path), existing };
      rest.push(existing.slice(parent.length).replace(/^[\\/]/, ''));
      existing = parent;
    }
  }
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * The state path rule alone (no access checks): inside the state directory, also once symbolic
 * links are resolved. Used for configurations delivered over the air.
 */
export function checkStateConfinement(config: GatewayConfig, stateDir: string): Problem[] {
  const file = statePath(stateDir, config.buffer.path);
  const dir = realish(stateDir).real;
  if (!inside(resolve(stateDir), file) || !inside(dir, realish(file).real)) {
    return [{ path: 'buffer.path', message: `${file} is outside the state directory ${resolve(stateDir)}` }];
  }
  return [];
}

/**
 * The buffer file: inside the state directory; if it exists a regular file this user may read
 * and write, and an outbox this agent can open; otherwise its nearest existing directory is one
 * this user may create it in. Nothing is created here (check-config must not change the
 * gateway); `run` then opens it as SQLite and exits 2 naming the file if that fails.
 */
export function checkStatePaths(config: GatewayConfig, stateDir: string, opts: { openExisting?: boolean } = {}): Problem[] {
  const confined = checkStateConfinement(config, stateDir);
  if (confined.length > 0) return confined;
  const file = statePath(stateDir, config.buffer.path);
  const at = 'buffer.path';
  try {
    const s = statSync(file);
    if (!s.isFile()) return [{ path: at, message: `${file}: not a regular file (${kindOf(s)})` }];
    accessSync(file, constants.R_OK | constants.W_OK);
    return opts.openExisting ? checkExistingOutbox(file) : [];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return [{ path: at, message: `${file}: ${code === 'EACCES' || code === 'EPERM' ? `not readable and writable by this user (${code})` : errnoText(err)}` }];
  }
  const { existing } = realish(dirname(file));
  try {
    const s = statSync(existing);
    if (!s.isDirectory()) return [{ path: at, message: `cannot create ${file}: ${existing} is ${kindOf(s)}, not a directory` }];
    accessSync(existing, constants.W_OK | constants.X_OK);
    return [];
  } catch (err) {
    return [{ path: at, message: `cannot create ${file}: ${existing} is not writable by this user (${(err as NodeJS.ErrnoException).code ?? String(err)})` }];
  }
}

/**
 * check-config only (`run` opens the outbox itself and exits 2 naming it when it cannot): an
 * outbox file that is there already, opened read-only (safe beside a running agent), written by
 * a newer agent would stop `run`. Anything else a read-only look cannot settle (a file that is
 * not a database is set aside by `run`; a WAL left by a crash is recovered by it) is left to `run`.
 */
function checkExistingOutbox(file: string): Problem[] {
  if (statSync(file).size === 0) return [];
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 100 });
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) return [{ path: 'buffer.path', message: `${file}: outbox schema version ${version} was written by a newer agent (this one knows ${SCHEMA_VERSION})` }];
    return [];
  } catch {
    return [];
  } finally {
    db?.close();
  }
}

/**
 * Errors from starting the parts that mean the configuration (or the files it names) is wrong,
 * not that the gateway failed: a file that went away after the checks, a buffer file SQLite
 * cannot open. The CLI exits 2 on them (systemd does not restart into the same failure).
 */
export function isConfigurationError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && (code === 'EDGE_FORWARD_CONFIG' || code === 'EDGE_OUTBOX_OPEN');
}
