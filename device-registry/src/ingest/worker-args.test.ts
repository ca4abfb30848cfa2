import { describe, expect, it } from 'vitest';
import { parseRegistryArgs } from '../cli-args.js';
import { INGEST_USAGE, parseIngestArgs } from './worker-args.js';

const ok = ['--database-url', 'postgres://r@db:5432/reg', '--broker-url', 'mqtt://mosquitto:1883', '--worker-id', 'ingest-1'];
const env = { REGISTRY_MQTT_PASSWORD: 'secret-password' };

describe('cityedge-registry ingest arguments', () => {
  it('reads a worker with defaults', () => {
    expect(parseIngestArgs(ok, env)).toEqual({
      ok: true,
      help: false,
      options: expect.objectContaining({ workerId: 'ingest-1', username: '_registry', password: 'secret-password', protocolVersion: 5, sharedGroup: 'registry-ingest', topicPrefix: 'edge/v1', statsIntervalSec: 60 }),
    });
    expect(parseIngestArgs([...ok.slice(2), '--shared-group', 'none', '--mqtt-version', '4'], { ...env, REGISTRY_DATABASE_URL: 'postgres://x@y/z' })).toMatchObject({ ok: true, options: { sharedGroup: null, protocolVersion: 4, databaseUrl: 'postgres://x@y/z' } });
  });

  it.each([
    [['--broker-url', 'mqtt://m:1883', '--worker-id', 'w'], env, /^--database-url: required/],
    [[...ok.slice(0, 2), '--worker-id', 'w'], env, /^--broker-url: required/],
    [ok.slice(0, 4), env, /^--worker-id: required/],
    [[...ok.slice(0, 4), '--worker-id', 'a/b'], env, /^--worker-id/],
    [ok, {}, /^REGISTRY_MQTT_PASSWORD: required/],
    [[...ok, '--mqtt-version', '3'], env, /^--mqtt-version: expected 4 or 5/],
    [[...ok, '--shared-group', 'a/b'], env, /^--shared-group/],
    [[...ok, '--stats-interval', 'often'], env, /^--stats-interval/],
  ])('names the bad flag: %j', (argv, e, message) => {
    const r = parseIngestArgs(argv, e);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });

  it('keeps its usage within 100 columns', () => {
    for (const line of INGEST_USAGE.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('the registry takes the telemetry retention and partitions-ahead days', () => {
    expect(parseRegistryArgs(['--telemetry-retention-days', '90', '--partition-ahead-days', '3'], {})).toMatchObject({ ok: true, options: { telemetryRetentionDays: 90, partitionAheadDays: 3 } });
    expect(parseRegistryArgs([], {})).toMatchObject({ ok: true, options: { telemetryRetentionDays: undefined, partitionAheadDays: 7 } });
    expect(parseRegistryArgs(['--telemetry-retention-days', 'a month'], {})).toMatchObject({ ok: false, message: expect.stringMatching(/^--telemetry-retention-days/) });
  });
});
