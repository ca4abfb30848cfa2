import { describe, expect, it } from 'vitest';
import { parseRegistryArgs } from './cli-args.js';

describe('registry command line', () => {
  it('has defaults for a single machine', () => {
    const r = parseRegistryArgs([], {});
    expect(r).toMatchObject({ ok: true, help: false, options: { dataDir: '/var/lib/cityedge-registry', host: '127.0.0.1', port: 8780, broker: 'embedded', mqttPort: 1883, brokerUrl: undefined, topicPrefix: 'edge/v1', databaseUrl: undefined } });
  });

  it('takes the data directory from systemd and the database and admin token from the environment', () => {
    const r = parseRegistryArgs(['--port', '0'], { STATE_DIRECTORY: '/var/lib/reg:/other', REGISTRY_DATABASE_URL: 'postgres://r@db:5432/reg', REGISTRY_ADMIN_TOKEN: 'a'.repeat(24) });
    expect(r).toMatchObject({ ok: true, options: { dataDir: '/var/lib/reg', port: 0, databaseUrl: 'postgres://r@db:5432/reg', adminToken: 'a'.repeat(24) } });
  });

  it.each([
    [['--port', '80a'], /--port: expected 0..65535/],
    [['--port', '70000'], /--port/],
    [['--broker-url', 'http://x'], /--broker-url: expected mqtt/],
    [['--database-url', 'mysql://x'], /--database-url: expected postgres/],
    [['--public-url', 'ftp://x'], /--public-url/],
    [['--topic-prefix', 'edge/#'], /--topic-prefix/],
    [['--log-level', 'loud'], /--log-level: expected one of/],
    [['--colour'], /Unknown option '--colour'/],
    [['stray'], /positional/],
  ])('refuses %j with a message naming the flag', (argv, message) => {
    const r = parseRegistryArgs(argv, {});
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });

  it('refuses a short REGISTRY_ADMIN_TOKEN', () => {
    expect(parseRegistryArgs([], { REGISTRY_ADMIN_TOKEN: 'short' })).toEqual({ ok: false, message: 'REGISTRY_ADMIN_TOKEN: must be at least 20 characters' });
  });
});
