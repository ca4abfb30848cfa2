import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { builtinProfiles, createCatalog, formatProblems, resolveGatewayConfig } from './index.js';

const catalog = createCatalog(builtinProfiles);

const doc = (lines: unknown[]) => ({ gateway: { id: 'gw-dongha-01' }, forwarding: { brokerUrl: 'mqtt://127.0.0.1:1883' }, lines });

const station = {
  id: 'uno-1',
  type: 'firmata',
  path: '/dev/ttyACM0',
  devices: [
    {
      id: 'site-io',
      points: [
        { name: 'float_high', pin: 'D2', mode: 'digital-in', pullUp: true, invert: true },
        { name: 'rain', pin: 'D3', mode: 'pulse-counter', pullUp: true, invert: true, scale: 0.2, unit: 'mm' },
        { name: 'light', pin: 'A0', mode: 'analog-in', scale: 0.0978, unit: 'lx', range: { min: 0, max: 100 } },
        { name: 'siren', pin: 7, mode: 'digital-out' },
      ],
    },
  ],
};

function problems(lines: unknown[]): string[] {
  const r = resolveGatewayConfig(doc(lines), catalog);
  if (r.ok) throw new Error('expected problems');
  return r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('Firmata line configuration', () => {
  it('applies the defaults and resolves the devices beside the Modbus lines', () => {
    const r = resolveGatewayConfig(doc([{ id: 'rs485-1', type: 'rtu', path: '/dev/ttyUSB0', devices: [{ id: 'river', profile: 'vegapuls-c21' }] }, station]), catalog);
    if (!r.ok) throw new Error(formatProblems(r.problems));
    expect(r.value.lines.map((l) => l.config.id)).toEqual(['rs485-1']);
    const [board] = r.value.firmataLines;
    expect(board!.config).toMatchObject({ type: 'firmata', baudRate: 57600, pollIntervalMs: 1000, samplingIntervalMs: 100, timeoutMs: 1000, handshakeTimeoutMs: 10_000 });
    expect(board!.devices).toEqual([{ id: 'site-io', lineId: 'uno-1', pollIntervalMs: 1000, points: station.devices[0]!.points }]);
  });

  it('takes a network board by host and port, and leaves disabled devices out', () => {
    const r = resolveGatewayConfig(doc([{ id: 'eth-1', type: 'firmata', host: '10.0.0.7', port: 3030, pollIntervalMs: 500, devices: [{ ...station.devices[0], enabled: false }, { id: 'b', pollIntervalMs: 2000, points: [{ name: 'x', pin: 'A1', mode: 'analog-in' }] }] }]), catalog);
    if (!r.ok) throw new Error(formatProblems(r.problems));
    expect(r.value.firmataLines[0]!.devices.map((d) => [d.id, d.pollIntervalMs])).toEqual([['b', 2000]]);
  });

  it('reports every problem with its path', () => {
    const bad = structuredClone(station) as any;
    bad.devices[0].points[0].pin = 'D200';
    bad.devices[0].points[1].offset = 3;
    bad.devices[0].points[2].pin = 'D9';
    bad.devices[0].points[2].pullUp = true;
    bad.devices[0].points[3].mode = 'pwm';
    bad.devices.push({ id: 'empty', points: [] });
    expect(problems([bad])).toEqual([
      'lines[0].devices[0].points[0].pin: expected "D<n>" (digital pin), "A<n>" (analog input) or a pin number 0..127',
      'lines[0].devices[0].points[1].offset: applies only to analog-in points (this one is pulse-counter)',
      'lines[0].devices[0].points[2].pullUp: applies only to digital inputs and pulse counters (this one is analog-in)',
      'lines[0].devices[0].points[2].pin: an analog input is "A<n>" (or the pin number the board gives it)',
      'lines[0].devices[0].points[3].mode: expected one of "digital-in", "analog-in", "digital-out", "pulse-counter"',
      'lines[0].devices[1].points: a board device needs at least one point',
    ]);
    // Checks across points and of the line run once its fields are valid.
    const clash = structuredClone(station) as any;
    clash.host = '10.0.0.7';
    clash.devices[0].points.push({ name: 'rain', pin: 'D4', mode: 'digital-in' });
    expect(problems([clash])).toEqual([
      'lines[0].devices[0].points[4].name: duplicate point name "rain" (also points[1])',
      'lines[0].host: a firmata line needs either "path" (a serial board) or "host" (a network board), not both',
    ]);
  });

  it('needs a path or a host, a serial path like an RTU line, and pins used once per board', () => {
    expect(problems([{ id: 'u', type: 'firmata', devices: [] }])).toEqual(['lines[0].path: a firmata line needs either "path" (a serial board) or "host" (a network board), not both']);
    expect(problems([{ id: 'u', type: 'firmata', path: '', devices: [] }])).toEqual([expect.stringMatching(/^lines\[0\]\.path: /)]);
    expect(problems([{ id: 'u', type: 'firmata', path: '/dev/ttyACM0', port: 3030 }])).toEqual(['lines[0].port: "port" applies only with "host"']);
    const twice = { id: 'u', type: 'firmata', path: '/dev/ttyACM0', devices: [{ id: 'a', points: [{ name: 'x', pin: 'd2', mode: 'digital-in' }] }, { id: 'b', points: [{ name: 'y', pin: 2, mode: 'digital-out' }] }] };
    expect(problems([twice])).toEqual(expect.arrayContaining([expect.stringMatching(/^lines\[0\]\.devices\[0\]\.points\[0\]\.pin: /), 'lines[0].devices[1].points[0].pin: pin 2 is already used by devices[0].points[0]']));
  });

  it('accepts the example of the README (Configuration, Firmata boards)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Firmata boards'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const r = resolveGatewayConfig({ ...doc([]), ...(parseYaml(yaml!) as object) }, catalog);
    if (!r.ok) throw new Error(formatProblems(r.problems, 'README.md'));
    expect(r.value.firmataLines[0]!.devices[0]!.points.map((p) => p.mode)).toEqual(['digital-in', 'pulse-counter', 'analog-in', 'digital-out']);
  });

  it('keeps device ids unique across Modbus and Firmata lines', () => {
    const clash = { ...station, devices: [{ ...station.devices[0], id: 'river' }] };
    expect(problems([{ id: 'rs485-1', type: 'rtu', path: '/dev/ttyUSB0', devices: [{ id: 'river', profile: 'vegapuls-c21' }] }, clash])).toContain('lines[1].devices[0].id: duplicate device id "river" (also lines[0].devices[0])');
  });
});
