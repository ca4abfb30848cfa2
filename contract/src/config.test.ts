import { describe, expect, it } from 'vitest';
import { builtinProfiles, createCatalog, formatProblems, resolveGatewayConfig, parseDocumentText } from './index.js';

const catalog = createCatalog(builtinProfiles);

const minimal = {
  gateway: { id: 'gw-dongha-01' },
  forwarding: { brokerUrl: 'mqtt://127.0.0.1:1883' },
  lines: [
    {
      id: 'rs485-1',
      type: 'rtu',
      path: '/dev/ttyUSB0',
      devices: [
        { id: 'river', profile: 'vegapuls-c21', points: { pv: { wordOrder: 'CDAB' } } },
        { id: 'pressure', profile: 'pressure-level', unitId: 2 },
      ],
    },
  ],
};

describe('gateway configuration', () => {
  it('applies defaults and profiles', () => {
    const r = resolveGatewayConfig(minimal, catalog);
    if (!r.ok) throw new Error(formatProblems(r.problems));
    const line = r.value.lines[0]!;
    expect(line.config).toMatchObject({ baudRate: 9600, parity: 'none', timeoutMs: 500, retries: 1 });
    const river = line.devices[0]!;
    expect(river.unitId).toBe(246);
    expect(river.points.find((p) => p.name === 'pv')).toMatchObject({ address: 106, wordOrder: 'CDAB', type: 'float32' });
    expect(r.value.config.buffer.commitIntervalMs).toBe(20);
  });

  it('reports every problem with its path', () => {
    const bad = structuredClone(minimal) as any;
    bad.gateway.id = 'GW 1';
    bad.lines[0].baudRate = -5;
    bad.lines[0].devices[1].unitId = 300;
    bad.lines[0].devices[1].pollIntervalMs = 'fast';
    bad.lines[0].colour = 'red';
    bad.forwarding.brokerUrl = 'http://x';
    const r = resolveGatewayConfig(bad, catalog);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'gateway.id',
        'lines[0].baudRate',
        'lines[0].devices[1].unitId',
        'lines[0].devices[1].pollIntervalMs',
        'lines[0]',
        'forwarding.brokerUrl',
      ]),
    );
    expect(formatProblems(r.problems, 'gw.yaml')).toContain('gw.yaml: lines[0]: unknown key "colour"');
  });

  it('rejects unknown line types, profiles, point overrides and clashing unit ids', () => {
    const bad = structuredClone(minimal) as any;
    bad.lines.push({ id: 'x', type: 'canbus' });
    let r = resolveGatewayConfig(bad, catalog);
    expect(!r.ok && r.problems.map((p) => p.path)).toContain('lines[1].type');

    const bad2 = structuredClone(minimal) as any;
    bad2.lines[0].devices.push({ id: 'aq', profile: 'nope' });
    bad2.lines[0].devices[0].points.level = { scale: 2 };
    bad2.lines[0].devices[1].unitId = 246;
    r = resolveGatewayConfig(bad2, catalog);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['lines[0].devices[2].profile', 'lines[0].devices[0].points.level', 'lines[0].devices[1].unitId']),
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const r = parseDocumentText('gateway:\n  id: [unclosed\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]!.path).toMatch(/^line \d+, column \d+$/);
  });

  it('shares unit ids only across distinct address offsets (DALI ballasts)', () => {
    const cfg = structuredClone(minimal) as any;
    cfg.lines[0].devices = [
      { id: 'lamp-1', profile: 'intesis-dali-ballast', addressOffset: 100 },
      { id: 'lamp-2', profile: 'intesis-dali-ballast', addressOffset: 200 },
    ];
    const r = resolveGatewayConfig(cfg, catalog);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.lines[0]!.devices[1]!.points.find((p) => p.name === 'arc_power')!.address).toBe(215);
  });
});

describe('paths a configuration may name', () => {
  const withLine = (path: string) => ({ ...minimal, lines: [{ id: 'l1', type: 'rtu', path, devices: [] }] });

  it.each(['/dev/ttyUSB0', '/dev/ttySC1', '/dev/ttyAMA0', '/dev/pts/3', '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0', '/dev/serial/by-path/platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-port0'])(
    'accepts the serial device %s',
    (path) => expect(resolveGatewayConfig(withLine(path), catalog).ok).toBe(true),
  );

  it.each(['../../../../etc/passwd', '/etc/passwd', '/dev/../etc/passwd', '/dev/./ttyUSB0', '/dev/', 'ttyUSB0', '/dev/tty USB0', `/dev/${'x'.repeat(300)}`])('refuses the serial path %#', (path) => {
    const r = resolveGatewayConfig(withLine(path), catalog);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toEqual([{ path: 'lines[0].path', message: expect.stringMatching(/^expected (a serial device under \/dev\/|at most 256)/) }]);
  });

  it('keeps the buffer inside the state directory', () => {
    for (const path of ['../../../var/x.db', 'a/../../x.db', '..\\x.db']) {
      const r = resolveGatewayConfig({ ...minimal, buffer: { path } }, catalog);
      expect(r.ok ? [] : r.problems).toEqual([{ path: 'buffer.path', message: 'expected a file inside the state directory (no ".." segments)' }]);
    }
    expect(resolveGatewayConfig({ ...minimal, buffer: { path: 'buffer/outbox.db' } }, catalog).ok).toBe(true);
  });
});

describe('one rule, one message', () => {
  it('reports a value past two bounds once, against the tighter one', () => {
    const cfg = structuredClone(minimal) as any;
    cfg.lines[0].devices[0].pollIntervalMs = 1e308;
    cfg.lines[0].devices[1].pollIntervalMs = -1e308;
    const r = resolveGatewayConfig(cfg, catalog);
    expect(r.ok ? [] : r.problems).toEqual([
      { path: 'lines[0].devices[0].pollIntervalMs', message: 'expected <= 86400000' },
      { path: 'lines[0].devices[1].pollIntervalMs', message: 'expected >= 100' },
    ]);
  });

  it('refuses a YAML alias bomb as a problem, not an exception', () => {
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 8; i++) rows.push(`${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(9).fill(`*${'abcdefgh'[i - 1]}`).join(',')}]`);
    const r = parseDocumentText(rows.join('\n'));
    expect(r.ok ? [] : r.problems).toEqual([{ path: '(document)', message: expect.stringContaining('too many YAML aliases') }]);
  });
});

describe('valid ranges of points', () => {
  it('declares the engineering range of every measured point of the shipped profiles', () => {
    const pv = builtinProfiles.find((p) => p.id === 'vegapuls-c21')!.points.find((p) => p.name === 'pv')!;
    expect(pv).toMatchObject({ unit: 'm', range: { min: 0, max: 30 } });
    const aq = builtinProfiles.find((p) => p.id === 'vaisala-aqt530')!;
    expect(aq.points.find((p) => p.name === 'pm2_5')).toMatchObject({ unit: 'ug/m3', range: { min: 0, max: 1000 } });
    expect(aq.points.find((p) => p.name === 'temperature')).toMatchObject({ unit: 'C', range: { min: -40, max: 80 } });
    for (const p of builtinProfiles) for (const pt of p.points) if (pt.unit !== undefined && !pt.writable && pt.name !== 'sensor_height' && !pt.name.startsWith('range_') && pt.name !== 'zero_offset') expect(pt.range, `${p.id}.${pt.name}`).toBeDefined();
  });

  it('lets a site replace a range, and asks for one when it changes the unit', () => {
    const cfg = structuredClone(minimal) as any;
    cfg.lines[0].devices[0].points.pv = { range: { min: 0, max: 12 } };
    let r = resolveGatewayConfig(cfg, catalog);
    if (!r.ok) throw new Error(formatProblems(r.problems));
    expect(r.value.lines[0]!.devices[0]!.points.find((p) => p.name === 'pv')!.range).toEqual({ min: 0, max: 12 });

    cfg.lines[0].devices[0].points.pv = { unit: 'mm', scale: 1 };
    cfg.lines[0].devices[0].points.pv_invalid = { range: { max: 1 } };
    cfg.lines[0].devices[1].points = { level: { range: { min: 5, max: 1 } } };
    r = resolveGatewayConfig(cfg, catalog);
    expect(r.ok ? [] : r.problems).toEqual([
      { path: 'lines[0].devices[1].points.level.range', message: '"min" must not be above "max"' },
    ]);
    delete cfg.lines[0].devices[1].points.level;
    r = resolveGatewayConfig(cfg, catalog);
    expect(r.ok ? [] : r.problems).toEqual([
      { path: 'lines[0].devices[0].points.pv_invalid.range', message: 'a bool point has no range' },
      { path: 'lines[0].devices[0].points.pv.range', message: 'required when the unit changes from "m" to "mm" (the profile\'s range 0..30 is in "m")' },
    ]);
  });
});
