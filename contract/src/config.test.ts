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
