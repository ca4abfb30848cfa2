import { readFile, readdir } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import {
  builtinProfiles,
  createCatalog,
  DeviceProfile,
  parseDocumentText,
  problemsFromZod,
  resolveGatewayConfig,
  type Problem,
  type ResolvedConfig,
  type Result,
} from '@cityedge/contract';
import { checkReferencedFiles, checkStateConfinement } from './config/startup-checks.js';

/**
 * Reads a gateway configuration file (YAML or JSON), loads the profile directories it names and
 * validates everything. Relative paths in the document (profile directories, password and TLS
 * files) are taken from the configuration file's directory. With an identity (an enrolled
 * gateway) the file is its bootstrap configuration and the broker credentials come from the identity.
 */
export async function loadGatewayConfigFile(path: string, identity?: ManagedIdentity): Promise<Result<ResolvedConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, problems: [{ path: '(file)', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }] };
  }
  const doc = parseDocumentText(text);
  if (!doc.ok) return doc;
  const baseDir = dirname(resolve(path));
  if (!identity) return resolveDocument(doc.value, baseDir);
  if (!isRecord(doc.value)) return { ok: false, problems: [{ path: '(root)', message: 'expected a mapping' }] };
  return resolveManagedDocument(doc.value, identity, baseDir);
}

type ManagedIdentity = { gatewayId: string; mqtt: { url: string; username: string; password: string; topicPrefix: string } };

/**
 * Validates a configuration document: the schema, profiles (with `profileDirs` read from
 * `baseDir`), and the files it names (password and TLS files: present, regular, readable).
 * With `stateDir`, the buffer file must also stay inside the state directory.
 */
export async function resolveDocument(raw: unknown, baseDir: string, opts: { stateDir?: string } = {}): Promise<Result<ResolvedConfig>> {
  const problems: Problem[] = [];
  const extra: DeviceProfile[] = [];
  const dirs = isRecord(raw) && Array.isArray(raw.profileDirs) ? raw.profileDirs : [];
  for (const [i, dir] of dirs.entries()) {
    if (typeof dir !== 'string') continue; // the schema reports it
    const loaded = await loadProfileDir(isAbsolute(dir) ? dir : join(baseDir, dir), `profileDirs[${i}]`);
    problems.push(...loaded.problems);
    extra.push(...loaded.profiles);
  }
  const result = resolveGatewayConfig(raw, createCatalog(builtinProfiles), extra);
  if (!result.ok) return { ok: false, problems: [...problems, ...result.problems] };
  if (problems.length > 0) return { ok: false, problems };
  const fwd = result.value.config.forwarding;
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : join(baseDir, p));
  if (fwd.passwordFile !== undefined) fwd.passwordFile = abs(fwd.passwordFile);
  if (fwd.tls) {
    fwd.tls.caFile = abs(fwd.tls.caFile);
    fwd.tls.certFile = abs(fwd.tls.certFile);
    fwd.tls.keyFile = abs(fwd.tls.keyFile);
  }
  for (const cred of Object.values(result.value.config.cameras.credentials)) if (cred.passwordFile !== undefined) cred.passwordFile = abs(cred.passwordFile);
  const fileProblems = [...checkReferencedFiles(result.value.config), ...(opts.stateDir === undefined ? [] : checkStateConfinement(result.value.config, opts.stateDir))];
  if (fileProblems.length > 0) return { ok: false, problems: fileProblems };
  return result;
}

/** Every *.json, *.yaml and *.yml file of a directory as a device profile. */
export async function loadProfileDir(dir: string, at: string): Promise<{ profiles: DeviceProfile[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const profiles: DeviceProfile[] = [];
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => ['.json', '.yaml', '.yml'].includes(extname(n))).sort();
  } catch (err) {
    return { profiles, problems: [{ path: at, message: `cannot read directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }] };
  }
  for (const name of names) {
    const where = `${at} (${name})`;
    const doc = parseDocumentText(await readFile(join(dir, name), 'utf8'));
    if (!doc.ok) {
      problems.push(...doc.problems.map((p) => ({ path: `${where} ${p.path}`, message: p.message })));
      continue;
    }
    const parsed = DeviceProfile.safeParse(doc.value, { reportInput: true });
    if (!parsed.success) problems.push(...problemsFromZod(parsed.error).map((p) => ({ path: `${where} ${p.path}`, message: p.message })));
    else profiles.push(parsed.data);
  }
  return { profiles, problems };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a configuration delivered over the air for an enrolled gateway: the gateway id must
 * be its own, and the broker credentials come from its identity (a document never carries them).
 */
export function resolveManagedDocument(
  doc: Record<string, unknown>,
  identity: ManagedIdentity,
  baseDir: string,
  opts: { stateDir?: string } = {},
): Promise<Result<ResolvedConfig>> {
  const gateway = isRecord(doc.gateway) ? doc.gateway : {};
  if (gateway.id !== undefined && gateway.id !== identity.gatewayId) {
    return Promise.resolve({ ok: false, problems: [{ path: 'gateway.id', message: `"${String(gateway.id)}" is not this gateway ("${identity.gatewayId}")` }] });
  }
  const fwd = isRecord(doc.forwarding) ? doc.forwarding : {};
  return resolveDocument(
    {
      ...doc,
      gateway: { ...gateway, id: identity.gatewayId },
      forwarding: {
        brokerUrl: identity.mqtt.url,
        topicPrefix: identity.mqtt.topicPrefix,
        ...fwd,
        clientId: identity.gatewayId,
        username: identity.mqtt.username,
        password: identity.mqtt.password,
      },
    },
    baseDir,
    opts,
  );
}
