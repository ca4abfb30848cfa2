import { describe, expect, it } from 'vitest';
import { clientIdAllowed, consumerMaySubscribe, gatewayMayPublish, gatewayMaySubscribe, mayPublish, maySubscribe, parseSharedFilter } from './acl.js';

const allowed = (d: { allow: boolean }): boolean => d.allow;

describe('broker ACL rule', () => {
  it('lets a gateway publish under its own id except config and cmd (and below them), its config report allowed', () => {
    const ok = ['telemetry', 'events', 'status', 'config/report', 'cameras/cam-1'].map((c) => `edge/v1/gw-a/${c}`);
    const no = ['edge/v1/gw-a/cmd/result', 'edge/v1/gw-b/cmd', 'edge/v1/gw-a/config', 'edge/v1/gw-a/config/x', 'edge/v1/gw-a/config/report/x', 'edge/v1/gw-a/cmd', 'edge/v1/gw-a/cmd/reboot', 'edge/v1/gw-b/telemetry', 'edge/v1/gw-a', 'edge/v1/gw-a/', 'edge/v1/gw-ab/telemetry', 'other/gw-a/telemetry', '$SYS/x'];
    expect(ok.filter((t) => !allowed(gatewayMayPublish('gw-a', t)))).toEqual([]);
    expect(no.filter((t) => allowed(gatewayMayPublish('gw-a', t)))).toEqual([]);
  });

  it('lets a gateway subscribe only to its own config and cmd', () => {
    const ok = ['edge/v1/gw-a/config', 'edge/v1/gw-a/cmd', 'edge/v1/gw-a/cmd/#', 'edge/v1/gw-a/cmd/+'];
    const no = ['#', '+/#', 'edge/#', 'edge/v1/#', 'edge/v1/+/config', 'edge/v1/gw-b/config', 'edge/v1/gw-b/cmd/#', 'edge/v1/gw-a/#', 'edge/v1/gw-a/+', 'edge/v1/gw-a/telemetry', 'edge/v1/gw-a/config/#', '$share/g/edge/v1/gw-a/config', 'edge/v1/gw-ab/config'];
    expect(ok.filter((f) => !allowed(gatewayMaySubscribe('gw-a', f)))).toEqual([]);
    expect(no.filter((f) => allowed(gatewayMaySubscribe('gw-a', f)))).toEqual([]);
  });

  it('gives consumers read access to gateway channels, shared or not, never a broad wildcard', () => {
    const ok = ['edge/v1/+/telemetry', 'edge/v1/gw-a/status', 'edge/v1/+/config/report', '$share/ingest/edge/v1/+/telemetry'];
    const no = ['#', 'edge/v1/#', 'edge/v1/+/+', 'edge/v1/+/config', 'edge/v1/+/cmd', 'edge/v1/+/telemetry/#', '$share/+/edge/v1/+/telemetry', '$share//edge/v1/+/telemetry', '$share/g'];
    expect(ok.filter((f) => !allowed(consumerMaySubscribe(f)))).toEqual([]);
    expect(no.filter((f) => allowed(consumerMaySubscribe(f)))).toEqual([]);
    expect(allowed(mayPublish({ kind: 'account', username: '_c', role: 'consumer' }, 'edge/v1/gw-a/telemetry'))).toBe(false);
  });

  it('lets the service account do everything but publish to $ topics', () => {
    const svc = { kind: 'account', username: '_registry', role: 'service' } as const;
    expect(allowed(mayPublish(svc, 'edge/v1/gw-a/config'))).toBe(true);
    expect(allowed(mayPublish(svc, '$SYS/broker'))).toBe(false);
    expect(allowed(maySubscribe(svc, '$share/ingest/edge/v1/+/telemetry'))).toBe(true);
    expect(allowed(maySubscribe(svc, '#'))).toBe(true);
  });

  it('honours another topic prefix', () => {
    expect(allowed(gatewayMayPublish('gw-a', 'city/v2/gw-a/telemetry', 'city/v2'))).toBe(true);
    expect(allowed(gatewayMayPublish('gw-a', 'edge/v1/gw-a/telemetry', 'city/v2'))).toBe(false);
  });

  it('binds client ids: gateways to their id, accounts to their username prefix', () => {
    expect(clientIdAllowed({ kind: 'gateway', gatewayId: 'gw-a' }, 'gw-a')).toBe(true);
    expect(clientIdAllowed({ kind: 'gateway', gatewayId: 'gw-a' }, 'gw-a-2')).toBe(false);
    expect(clientIdAllowed({ kind: 'account', username: '_registry', role: 'service' }, '_registry-ingest-1')).toBe(true);
    expect(clientIdAllowed({ kind: 'account', username: '_registry', role: 'service' }, 'gw-a')).toBe(false);
  });

  it('parses shared subscriptions', () => {
    expect(parseSharedFilter('$share/g/a/b')).toEqual({ group: 'g', filter: 'a/b' });
    expect(parseSharedFilter('a/b')).toEqual({ filter: 'a/b' });
    expect(parseSharedFilter('$share/g/')).toBeUndefined();
  });
});
