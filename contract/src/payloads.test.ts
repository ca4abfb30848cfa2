import { describe, expect, it } from 'vitest';
import {
  CameraThumbnailMessage,
  CamerasStatusMessage,
  CommandResult,
  ConfigReport,
  EventsMessage,
  GatewayEvent,
  GatewayId,
  Reading,
  SignedCommand,
  StatusMessage,
  TelemetryMessage,
  encodeCameraThumbnail,
  encodeCamerasStatus,
  encodeEvent,
  encodeEventsMessage,
  encodeReading,
  encodeStatus,
  encodeTelemetryMessage,
  generateSigningKey,
  isValidGatewayId,
  signCommand,
  type CameraStatusEntry,
} from './index.js';

/** What the agent builds, with its own encoders, is what the registry's schemas accept, unchanged. */
describe('payload schemas round-trip the agent encodings', () => {
  const readings: Reading[] = [
    { dev: 'river-radar', pt: 'pv', ts: 1_763_700_000_123, v: 2.314, q: 'good', u: 'm' },
    { dev: 'well', pt: 'level', ts: 1_763_700_000_131, v: null, q: 'bad', u: 'm', err: 'EDGE_MODBUS_TIMEOUT' },
    { dev: 'relays', pt: 'relay1', ts: 1_763_700_000_140, v: true, q: 'good' },
  ];
  const events: GatewayEvent[] = [
    { type: 'device.offline', ts: 1_763_700_004_000, severity: 'warning', dev: 'well', message: 'well stopped answering', data: { failures: 3 } },
    { type: 'flood.level', ts: 1_763_700_005_000, severity: 'critical', message: 'BD III', alarm: { key: 'flood.level/dongha', state: 'raised', level: 'BD_III' } },
  ];

  it('telemetry and events messages', () => {
    const t = JSON.parse(encodeTelemetryMessage('gw-dongha-01', 1042, readings.map(encodeReading)));
    expect(TelemetryMessage.parse(t)).toEqual({ v: 1, gw: 'gw-dongha-01', seq: 1042, readings });
    const e = JSON.parse(encodeEventsMessage('gw-dongha-01', 1043, events.map(encodeEvent)));
    expect(EventsMessage.parse(e)).toEqual({ v: 1, gw: 'gw-dongha-01', seq: 1043, events });
  });

  it('the retained status and the last will', () => {
    const s: StatusMessage = { v: 1, gw: 'gw-dongha-01', state: 'online', ts: 1, agentVersion: '0.1.0', configVersion: 7, backlog: 0, devicesFailing: 1, startedAt: 0 };
    expect(StatusMessage.parse(JSON.parse(encodeStatus(s)))).toEqual(s);
    expect(StatusMessage.parse(JSON.parse(encodeStatus({ v: 1, gw: 'gw-1', state: 'offline', ts: 5 })))).toEqual({ v: 1, gw: 'gw-1', state: 'offline', ts: 5 });
  });

  it('configuration reports with problems', () => {
    const r: ConfigReport = { v: 1, gw: 'gw-1', version: 3, state: 'committed', ts: 9, running: 3, problems: { lines: [{ line: 'rs485-1', code: 'EDGE_MODBUS_PORT', cause: 'ENOENT', message: 'no such device', since: 1 }], devices: [{ dev: 'radar', line: 'rs485-1', state: 'never-answered', message: 'never answered', since: 1 }] } };
    expect(ConfigReport.parse(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  it('camera status and thumbnails', () => {
    const cam: CameraStatusEntry = { id: 'cam-1', state: 'degraded', reasons: ['rtsp-down'], since: 1, checkedAt: 2, codec: 'H264', width: 640, height: 360 };
    const status = { v: 1 as const, gw: 'gw-1', ts: 3, cameras: [cam] };
    expect(CamerasStatusMessage.parse(JSON.parse(encodeCamerasStatus(status)))).toEqual(status);
    const thumb = { v: 1 as const, gw: 'gw-1', cam: 'cam-1', ts: 4, mime: 'image/jpeg' as const, width: 160, height: 90, data: Buffer.from([0xff, 0xd8, 1, 2, 3, 4, 0xff, 0xd9]).toString('base64') };
    expect(CameraThumbnailMessage.parse(JSON.parse(encodeCameraThumbnail(thumb)))).toEqual(thumb);
  });

  it('commands and their answers', () => {
    const key = generateSigningKey();
    const cmd = signCommand({ id: 'cmd-roundtrip-01', gatewayId: 'gw-1', name: 'device.read', args: { dev: 'well' }, actor: 'tech', issuedAt: 1, expiresAt: 2 }, key.privateKeyPem);
    expect(SignedCommand.parse(JSON.parse(JSON.stringify(cmd)))).toEqual(cmd);
    const answer = { id: cmd.id, name: cmd.name, state: 'succeeded' as const, result: { dev: 'well', readings } };
    expect(CommandResult.parse(JSON.parse(JSON.stringify(answer)))).toEqual(answer);
  });
});

describe('payload schemas refuse what is not the contract', () => {
  it.each([
    ['a gateway id with capitals', () => TelemetryMessage.safeParse({ v: 1, gw: 'GW-1', seq: 1, readings: [] })],
    ['an unknown quality', () => Reading.safeParse({ dev: 'd', pt: 'p', ts: 1, v: 1, q: 'meh' })],
    ['an event type with spaces', () => GatewayEvent.safeParse({ type: 'device offline', ts: 1, severity: 'info', message: '' })],
    ['a negative seq', () => EventsMessage.safeParse({ v: 1, gw: 'gw-1', seq: -1, events: [] })],
    ['another payload version', () => StatusMessage.safeParse({ v: 2, gw: 'gw-1', state: 'online', ts: 1 })],
  ])('%s', (_what, parse) => {
    expect(parse().success).toBe(false);
  });

  it('spells the gateway-id rule once: the schema and the topic check agree', () => {
    for (const id of ['gw-1', 'a', 'gw_dongha_01', 'GW', '-gw', 'gw/1', 'x'.repeat(63), 'x'.repeat(64)]) expect(GatewayId.safeParse(id).success).toBe(isValidGatewayId(id));
  });
});
