import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Both installers run for real (npm ci from the committed lock file, build, prune, users, files)
 * into a throwaway prefix and root, without systemd; then the installed commands are run from
 * PATH as the service users, as a technician would.
 */
describe('installers (deploy/install-agent.sh, deploy/install-registry.sh)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cityedge-install-'));
  const prefix = join(tmp, 'opt', 'cityedge');
  const root = join(tmp, 'root');
  const suffix = Math.random().toString(36).slice(2, 8);
  const agentUser = `cetest-agent-${suffix}`;
  const registryUser = `cetest-reg-${suffix}`;
  const bin = (name: string) => join(root, 'usr/local/bin', name);
  const env = { ...process.env, PATH: `${join(root, 'usr/local/bin')}:${process.env.PATH}` };

  const install = (script: string, user: string) =>
    spawnSync('bash', [script, '--prefix', prefix, '--root', root, '--user', user, '--no-systemd'], { encoding: 'utf8', timeout: 600_000, env });
  const asUser = (user: string, args: string[]) => spawnSync('runuser', ['-u', user, '--', ...args], { encoding: 'utf8', timeout: 30_000, env });

  beforeAll(() => {
    chmodSync(tmp, 0o755); // the service users must reach the prefix
  });

  afterAll(() => {
    for (const u of [agentUser, registryUser]) spawnSync('userdel', [u]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('installs the agent: build, commands on PATH, configuration, unit, state directory', () => {
    const r = install('deploy/install-agent.sh', agentUser);
    expect(r.stderr + r.stdout).toContain('installed in');
    expect(r.status).toBe(0);
    for (const name of ['cityedge-agent', 'cityedge-registry', 'edgectl', 'cityedge-sim']) {
      const help = spawnSync(bin(name), ['--help'], { encoding: 'utf8', env });
      expect(help.status, `${name} --help: ${help.stderr}`).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`usage: ${name}`, 'i'));
    }
    const unit = readFileSync(join(root, 'etc/systemd/system/cityedge-agent.service'), 'utf8');
    expect(unit).toContain(`${prefix}/dist/cityedge-agent.js run`);
    expect(unit).toMatch(new RegExp(`^User=${agentUser}$`, 'm'));
    for (const tty of ['ttyUSB', 'ttyACM', 'ttyAMA', 'ttySC']) expect(unit).toMatch(new RegExp(`^DeviceAllow=char-${tty} rw$`, 'm'));
    const config = join(root, 'etc/cityedge/agent.yaml');
    expect(statSync(config).mode & 0o777).toBe(0o640);
    expect(statSync(join(root, 'var/lib/cityedge')).mode & 0o777).toBe(0o700);
    // the installed example configuration is one the agent accepts, read as the agent's user
    const check = asUser(agentUser, [bin('cityedge-agent'), 'check-config', '--config', config, '--state-dir', join(root, 'var/lib/cityedge')]);
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(asUser(agentUser, ['id', '-Gn']).stdout).toMatch(/\bdialout\b/);
  }, 600_000);

  it('installs the registry beside it, reusing the build, and the installed registry serves', async () => {
    const r = install('deploy/install-registry.sh', registryUser);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('already holds this build');
    const envFile = join(root, 'etc/cityedge/registry.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o640);
    expect(readFileSync(envFile, 'utf8')).toMatch(/^REGISTRY_ARGS=/m);
    const data = join(root, 'var/lib/cityedge-registry');
    expect(statSync(data).mode & 0o777).toBe(0o700);
    const unit = readFileSync(join(root, 'etc/systemd/system/cityedge-registry.service'), 'utf8');
    expect(unit).toContain(`${prefix}/dist/cityedge-registry.js`);
    expect(unit).toMatch(new RegExp(`^User=${registryUser}$`, 'm'));

    const registry = spawn('runuser', ['-u', registryUser, '--', bin('cityedge-registry'), '--data-dir', data, '--port', '0', '--mqtt-port', '0', '--log-format', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      registry.stdout.on('data', (b: Buffer) => (out += b.toString()));
      registry.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the installed registry did not start:\n${out}`)), 30_000);
        registry.stdout.on('data', () => {
          const m = /"url":"(http:\/\/[^"]+)"[^\n]*registry listening/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(existsSync(join(data, 'config-signing-key.pem'))).toBe(true);
    } finally {
      registry.kill('SIGTERM');
    }
  }, 600_000);
});
