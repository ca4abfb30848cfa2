import { describe, expect, it } from 'vitest';
import { builtinProfiles, createCatalog, formatProblems, resolveGatewayConfig } from '@cityedge/contract';
import { DevicePoller } from './device-poller.js';

function aqt530(points: Record<string, object>) {
  const r = resolveGatewayConfig(
    {
      gateway: { id: 'gw-1' },
      forwarding: { brokerUrl: 'mqtt://127.0.0.1:1' },
      lines: [{ id: 'bus', type: 'tcp', host: '127.0.0.1', devices: [{ id: 'aq', profile: 'vaisala-aqt530', points }] }],
    },
    createCatalog(builtinProfiles),
  );
  if (!r.ok) throw new Error(formatProblems(r.problems));
  return r.value.lines[0]!.devices[0]!;
}

describe('a device poller', () => {
  it('leaves switched-off points out of its read plan: an AQT530 without gas cells reads registers 8..12 only', () => {
    const all = new DevicePoller(aqt530({}), 8);
    expect(all.plan.map((b) => [b.address, b.count])).toEqual([[0, 13]]);
    const off = { enabled: false };
    const pmOnly = new DevicePoller(aqt530({ no2: off, so2: off, co: off, o3: off, no: off }), 8);
    expect(pmOnly.plan.map((b) => [b.address, b.count])).toEqual([[8, 5]]);
    expect(pmOnly.device.points.map((p) => p.name)).toEqual(['pm2_5', 'pm10', 'temperature', 'humidity', 'pressure']);
  });
});
