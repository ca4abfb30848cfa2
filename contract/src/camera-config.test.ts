import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { builtinProfiles, cameraUsesOnvif, createCatalog, formatProblems, resolveGatewayConfig } from './index.js';

const catalog = createCatalog(builtinProfiles);

/** The example of the README's cameras section; kept here so it cannot drift from the schema. */
const CAMERAS_EXAMPLE_YAML = `
gateway: { id: gw-dongha-01 }
forwarding: { brokerUrl: "mqtts://broker.example:8883" }
lines:
  - { id: rs485-1, type: rtu, path: /dev/ttyUSB0, devices: [{ id: river, profile: vegapuls-c21 }] }
cameras:
  probeIntervalMs: 60000
  concurrency: 8
  callTimeoutMs: 5000
  clockSkewToleranceMs: 30000
  rtsp: describe
  snapshot: { staleAfter: 3 }
  thumbnail: { enabled: true, maxWidth: 160, maxBytes: 16384, intervalMs: 3600000 }
  credentials:
    default: { username: onvif-probe, passwordFile: /etc/cityedge/camera-password }
    bridge: { username: admin, passwordFile: /etc/cityedge/bridge-password }
  devices:
    - { id: cam-hieu-bridge-n, host: 10.20.1.11, credentials: bridge }
    - { id: cam-market-1, host: 10.20.1.12, port: 8080, rtsp: frame }
    - { id: cam-old-nat, host: 203.0.113.7, port: 8000, preserveAddress: true, snapshot: false }
    # Cameras without ONVIF: checked by their RTSP URL (and snapshot URL, when they have one).
    - { id: cam-alley-3, rtspUrl: "rtsp://10.20.1.30:554/Streaming/Channels/101", snapshotUrl: "http://10.20.1.30/ISAPI/Streaming/channels/101/picture" }
    - { id: cam-kiosk, host: 10.20.1.31, onvif: false, rtspUrl: "rtsp://10.20.1.31/cam/realmonitor?channel=1&subtype=0", rtsp: frame }
  discovery:
    enabled: true
    interfaces: [eth0]
    targets: ["10.20.1.50", "10.20.1.51:3702"]
`;

describe('cameras section of the gateway configuration', () => {
  const base = { gateway: { id: 'gw-1' }, forwarding: { brokerUrl: 'mqtt://127.0.0.1:1884' } };

  it('defaults to probing nothing, discovery off', () => {
    const r = resolveGatewayConfig(base, catalog);
    if (!r.ok) throw new Error(formatProblems(r.problems));
    expect(r.value.config.cameras).toMatchObject({ enabled: true, devices: [], concurrency: 8, probeIntervalMs: 60_000, rtsp: 'describe', discovery: { enabled: false }, thumbnail: { enabled: false } });
  });

  it('accepts the README example and applies camera defaults', () => {
    const r = resolveGatewayConfig(parseYaml(CAMERAS_EXAMPLE_YAML), catalog);
    if (!r.ok) throw new Error(formatProblems(r.problems));
    const [bridge, market, , alley, kiosk] = r.value.config.cameras.devices;
    expect(bridge).toMatchObject({ port: 80, path: '/onvif/device_service', enabled: true, preserveAddress: false, credentials: 'bridge' });
    expect(market).toMatchObject({ port: 8080, rtsp: 'frame' });
    expect(alley).toMatchObject({ rtspUrl: 'rtsp://10.20.1.30:554/Streaming/Channels/101', snapshotUrl: 'http://10.20.1.30/ISAPI/Streaming/channels/101/picture' });
    expect([bridge, alley, kiosk].map((c) => c && cameraUsesOnvif(c))).toEqual([true, false, false]);
  });

  it('accepts the cameras example in the README as it is written there', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /```yaml\n(cameras:\n[\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const r = resolveGatewayConfig({ ...base, ...(parseYaml(block ?? '') as object) }, catalog);
    if (!r.ok) throw new Error(formatProblems(r.problems, 'README cameras example'));
    expect(r.value.config.cameras.devices.filter((c) => !cameraUsesOnvif(c)).map((c) => c.id)).toEqual(['cam-alley-3', 'cam-kiosk']);
  });

  it('checks cameras without ONVIF: URLs, what they need and what does not apply, each at its path', () => {
    const r = resolveGatewayConfig(
      {
        ...base,
        cameras: {
          devices: [
            { id: 'c0' },
            { id: 'c1', onvif: false },
            { id: 'c2', host: '10.0.0.2', rtspUrl: 'rtsp://10.0.0.2/s' },
            { id: 'c3', rtspUrl: 'http://10.0.0.3/s', snapshotUrl: 'rtsp://10.0.0.3/snap' },
            { id: 'c4', rtspUrl: 'rtsp://admin:secret@10.0.0.4/s' },
            { id: 'c5', rtspUrl: 'not a url' },
            { id: 'c6', onvif: true, snapshotUrl: 'http://10.0.0.6/snap.jpg' },
          ],
        },
      },
      catalog,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatProblems(r.problems).split('\n')).toEqual(
      expect.arrayContaining([
        'cameras.devices[0].host: expected host (an ONVIF camera) or rtspUrl (a camera without ONVIF)',
        'cameras.devices[1].rtspUrl: required for a camera without ONVIF (onvif: false)',
        'cameras.devices[2].rtspUrl: applies to a camera without ONVIF (onvif: false); an ONVIF camera reports its own URIs',
        'cameras.devices[3].rtspUrl: expected an rtsp:// URL such as rtsp://10.20.1.30:554/Streaming/Channels/101',
        'cameras.devices[3].snapshotUrl: expected an http:// or https:// URL such as http://10.20.1.30/ISAPI/Streaming/channels/101/picture',
        'cameras.devices[4].rtspUrl: must not contain credentials: name an entry of cameras.credentials instead',
        'cameras.devices[5].rtspUrl: expected an absolute URL such as rtsp://10.20.1.30:554/Streaming/Channels/101',
        'cameras.devices[6].host: required for an ONVIF camera (for a camera without ONVIF give rtspUrl and onvif: false)',
        'cameras.devices[6].snapshotUrl: applies to a camera without ONVIF (onvif: false); an ONVIF camera reports its own URIs',
      ]),
    );
    expect(formatProblems(r.problems)).not.toContain('secret');
  });

  it('a camera without ONVIF must have something to check', () => {
    const r = resolveGatewayConfig({ ...base, cameras: { rtsp: 'off', devices: [{ id: 'a', rtspUrl: 'rtsp://h/s' }, { id: 'b', rtspUrl: 'rtsp://h/s', snapshotUrl: 'http://h/snap' }, { id: 'c', rtspUrl: 'rtsp://h/s', rtsp: 'describe' }] } }, catalog);
    expect(r.ok ? '' : formatProblems(r.problems)).toBe('cameras.devices[0].rtsp: a camera without ONVIF is checked by its rtspUrl and snapshotUrl: with rtsp off and no snapshot nothing would be checked');
  });

  it('reports every problem with its path', () => {
    const r = resolveGatewayConfig(
      {
        ...base,
        lines: [{ id: 'l1', type: 'tcp', host: '10.0.0.2', devices: [{ id: 'river', profile: 'vegapuls-c21' }] }],
        cameras: {
          concurrency: 0,
          credentials: { site: { username: 'a', password: 'x', passwordFile: '/p' }, odd: { username: 'a<b>' } },
          devices: [
            { id: 'cam-1', host: 'http://admin:pw@10.0.0.5' },
            { id: 'cam-1', host: '10.0.0.6', credentials: 'nope' },
            { id: 'river', host: '10.0.0.7', rtsp: 'play' },
          ],
          discovery: { enabled: true },
        },
      },
      catalog,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = formatProblems(r.problems);
    expect(text).toContain('cameras.concurrency: expected >= 1');
    expect(text).toContain('cameras.credentials.site: give password or passwordFile, not both');
    expect(text).toContain('cameras.credentials.odd.username: must not contain < > & " or \'');
    expect(text).toContain('cameras.devices[0].host: expected a host name or IP address without scheme, port or credentials');
    expect(text).toContain('cameras.devices[2].rtsp: expected one of "off", "describe", "frame"');
  });

  it('checks cross references once the fields are valid', () => {
    const r = resolveGatewayConfig(
      {
        ...base,
        lines: [{ id: 'l1', type: 'tcp', host: '10.0.0.2', devices: [{ id: 'river', profile: 'vegapuls-c21' }] }],
        cameras: {
          credentials: { site: { username: 'a', passwordFile: '/p' } },
          devices: [
            { id: 'cam-1', host: '10.0.0.5' },
            { id: 'cam-1', host: '10.0.0.6', credentials: 'nope' },
            { id: 'river', host: '10.0.0.7' },
          ],
          discovery: { enabled: true, targets: ['10.0.0.9:99999'] },
        },
      },
      catalog,
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(formatProblems(r.problems).split('\n')).toEqual(
      expect.arrayContaining([
        'cameras.devices[1].id: duplicate camera id "cam-1" (also cameras.devices[0])',
        'cameras.devices[1].credentials: no credentials named "nope" under cameras.credentials (there are "site")',
        'cameras.devices[2].id: camera id "river" is also a Modbus device id; ids must be unique across both',
        'cameras.discovery.targets[0]: expected a port 1..65535',
      ]),
    );
    const noTargets = resolveGatewayConfig({ ...base, cameras: { discovery: { enabled: true } } }, catalog);
    expect(noTargets.ok ? '' : formatProblems(noTargets.problems)).toBe('cameras.discovery: discovery is enabled but names no interfaces and no targets');
  });
});
