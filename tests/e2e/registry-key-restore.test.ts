import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, enroll, resolveManagedDocument } from '@cityedge/edge-agent';
import { RegistryClient, SQLITE_FILE, startCentral, type Central } from '@cityedge/device-registry';
import { freePort } from '@cityedge/test-support';
import { eventually, quiet, tempDir } from '../support/fixtures.js';

const ADMIN = 'key-restore-admin-token-012345';
const GW = 'gw-restore-01';
const KEYS_SCRIPT = 'deploy/central/registry-keys.sh';

/**
 * The README's backup of the configuration-signing key, exercised: a gateway enrolled with one
 * registry keeps accepting configurations from a registry restored (keys with registry-keys.sh,
 * database copied) into a fresh data directory; a registry that lost the key is refused.
 */
describe('restoring the registry keys from a backup', () => {
  let central: Central | undefined;
  let agent: Agent | undefined;
  let brokerPort: number;

  afterAll(async () => {
    await agent?.stop();
    await central?.stop();
  });

  const start = async (dataDir: string) =>
    startCentral({
      dataDir,
      logger: quiet,
      http: { host: '127.0.0.1', port: 0 },
      // The same broker address every time: the gateway keeps the URL it enrolled with.
      broker: { mode: 'embedded', host: '127.0.0.1', port: brokerPort },
      adminToken: ADMIN,
      documentDefaults: { ota: { healthWindowMs: 1000 }, http: { enabled: false } },
    });

  const state = async (c: Central, version: number) => (await new RegistryClient({ baseUrl: c.url, token: ADMIN }).getConfig(GW, version)).state;

  /** Stops a registry the way an operator would before copying its SQLite file. */
  const stop = async () => {
    await central!.stop();
    central = undefined;
  };

  /** A copy of the SQLite database (PostgreSQL would be pg_dump and restore). */
  const copyDatabase = (from: string, to: string) => {
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(join(from, SQLITE_FILE + suffix))) copyFileSync(join(from, SQLITE_FILE + suffix), join(to, SQLITE_FILE + suffix));
  };

  it('a gateway enrolled with the original registry commits a configuration the restored one signs', async () => {
    brokerPort = await freePort();
    const original = tempDir('cityedge-registry-a-');
    central = await start(original);
    const api = new RegistryClient({ baseUrl: central.url, token: ADMIN });
    const { enrollment } = await api.createGateway({ id: GW, name: 'before the restore' });
    const stateDir = tempDir('cityedge-gw-restore-');
    const identity = await enroll({ registryUrl: central.url, code: enrollment.code, stateDir });
    const boot = await resolveManagedDocument({ gateway: { id: GW }, lines: [], http: { enabled: false } }, identity, stateDir);
    if (!boot.ok) throw new Error('bootstrap configuration invalid');
    agent = new Agent({ resolved: boot.value, stateDir, logger: quiet, managed: { identity, resolveDocument: (doc) => resolveManagedDocument(doc, identity, stateDir) } });
    await agent.start();
    expect((await api.pushConfig(GW, 'v1 from the original registry')).version).toBe(1);
    await eventually(async () => ((await state(central!, 1)) === 'committed' ? true : undefined), 20_000, 'v1 committed');
    const originalKey = central.registry.signingKey.keyId;
    await stop();

    // Back up with the script the README gives; restore into a fresh data directory.
    const archive = join(tempDir('cityedge-backup-'), 'registry-keys.tar');
    execFileSync('bash', [KEYS_SCRIPT, 'backup', original, archive], { stdio: 'pipe' });
    const restored = tempDir('cityedge-registry-b-');
    execFileSync('bash', [KEYS_SCRIPT, 'restore', archive, restored], { stdio: 'pipe' });
    expect(statSync(join(restored, 'config-signing-key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(restored, 'config-signing-key.pem'))).toEqual(readFileSync(join(original, 'config-signing-key.pem')));
    copyDatabase(original, restored);

    central = await start(restored);
    expect(central.registry.signingKey.keyId).toBe(originalKey);
    const api2 = new RegistryClient({ baseUrl: central.url, token: ADMIN });
    expect((await api2.pushConfig(GW, 'v2 from the restored registry')).version).toBe(2);
    await eventually(async () => ((await state(central!, 2)) === 'committed' ? true : undefined), 30_000, 'v2 from the restored registry committed by the gateway');
    expect(agent.configVersion).toBe(2);

    // Control: the same database in a fresh directory without the keys makes a new key, and the
    // gateway refuses what it signs. So the restore above is what kept the gateway's trust.
    await stop();
    const lost = tempDir('cityedge-registry-c-');
    copyDatabase(restored, lost);
    central = await start(lost);
    expect(central.registry.signingKey.keyId).not.toBe(originalKey);
    const api3 = new RegistryClient({ baseUrl: central.url, token: ADMIN });
    expect((await api3.pushConfig(GW, 'v3 signed by a key the gateway never saw')).version).toBe(3);
    const refused = await eventually(
      async () => {
        const c = await api3.getConfig(GW, 3);
        return c.state === 'rejected' ? c : undefined;
      },
      30_000,
      'v3 rejected by the gateway',
    );
    expect(refused.reason).toMatch(/key|signature/i);
    expect(agent.configVersion).toBe(2);
  });

  it('restore refuses to replace a different signing key, naming the file', () => {
    const a = tempDir('cityedge-keys-a-');
    const b = tempDir('cityedge-keys-b-');
    for (const [dir, key] of [
      [a, 'key-a'],
      [b, 'key-b'],
    ] as const) {
      execFileSync('bash', ['-c', `umask 077; echo ${key} > "${dir}/config-signing-key.pem"; echo s > "${dir}/secrets.key"`]);
    }
    const archive = join(tempDir(), 'keys.tar');
    execFileSync('bash', [KEYS_SCRIPT, 'backup', a, archive], { stdio: 'pipe' });
    let err: { status?: number; stderr?: Buffer } = {};
    try {
      execFileSync('bash', [KEYS_SCRIPT, 'restore', archive, b], { stdio: 'pipe' });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.status).toBe(1);
    expect(err.stderr?.toString()).toContain(`${b}/config-signing-key.pem: a different signing key is already there`);
    expect(readFileSync(join(b, 'config-signing-key.pem'), 'utf8')).toBe('key-b\n');
  });
});
