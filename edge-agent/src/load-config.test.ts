import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatProblems } from '@cityedge/contract';
import { loadGatewayConfigFile } from './load-config.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('loading a gateway configuration file', () => {
  it('accepts the shipped example, with its site profile directory', async () => {
    const r = await loadGatewayConfigFile(join(repo, 'deploy/config/agent.example.yaml'));
    if (!r.ok) throw new Error(formatProblems(r.problems));
    const devices = r.value.lines.flatMap((l) => l.devices.map((d) => d.id));
    expect(devices).toContain('cabinet-pm');
    expect(r.value.catalog.get('siemens-qsa2700')?.points).toHaveLength(3);
    // As shipped it names no file that an install does not create: it runs as installed.
    expect(r.value.config.forwarding.passwordFile).toBeUndefined();
    expect(r.value.config.forwarding.tls).toBeUndefined();
  });

  it('names the file, the profile and the field of a broken site profile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cityedge-cfg-'));
    mkdirSync(join(dir, 'profiles'));
    writeFileSync(join(dir, 'profiles', 'bad.yaml'), 'id: bad\nname: Bad\npoints:\n  - { name: x, table: holding, address: 70000, type: float32 }\n');
    writeFileSync(
      join(dir, 'gw.yaml'),
      'gateway: { id: gw-1 }\nforwarding: { brokerUrl: "mqtt://127.0.0.1:1" }\nprofileDirs: [profiles]\nlines: []\n',
    );
    const r = await loadGatewayConfigFile(join(dir, 'gw.yaml'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatProblems(r.problems)).toContain('profileDirs[0] (bad.yaml) points[0].address: expected <= 65535');
  });

  it('takes relative password files (forwarding and camera credentials) from the config file directory, not the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cityedge-cfg-'));
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets/mqtt'), 'broker-password\n'); // the broker's must exist; a camera's may be missing
    writeFileSync(
      join(dir, 'gw.yaml'),
      [
        'gateway: { id: gw-1 }',
        'forwarding: { brokerUrl: "mqtt://127.0.0.1:1", passwordFile: secrets/mqtt }',
        'cameras:',
        '  credentials:',
        '    site: { username: probe, passwordFile: secrets/cam }',
        '    abs: { username: probe, passwordFile: /etc/cityedge/cam }',
        '    inline: { username: probe, password: x }',
        '  devices: [{ id: c1, host: 10.0.0.5, credentials: site }]',
      ].join('\n'),
    );
    const r = await loadGatewayConfigFile(join(dir, 'gw.yaml'));
    if (!r.ok) throw new Error(formatProblems(r.problems));
    expect(r.value.config.forwarding.passwordFile).toBe(join(dir, 'secrets/mqtt'));
    expect(r.value.config.cameras.credentials).toEqual({
      site: { username: 'probe', passwordFile: join(dir, 'secrets/cam') },
      abs: { username: 'probe', passwordFile: '/etc/cityedge/cam' },
      inline: { username: 'probe', password: 'x' },
    });
  });

  it('reports a missing file plainly', async () => {
    const r = await loadGatewayConfigFile('/nonexistent/agent.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]).toEqual({ path: '(file)', message: 'cannot read: ENOENT' });
  });
});
