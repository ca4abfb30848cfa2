import { describe, expect, it } from 'vitest';
import { builtinProfiles, createCatalog, resolveGatewayConfig, type GatewayConfigInput, type ResolvedConfig } from '@cityedge/contract';
import { isEmptyPlan, planChanges } from './change-plan.js';

const catalog = createCatalog(builtinProfiles);
function resolve(doc: GatewayConfigInput): ResolvedConfig {
  const r = resolveGatewayConfig(doc, catalog);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

const base = (): GatewayConfigInput => ({
  gateway: { id: 'gw-1' },
  forwarding: { brokerUrl: 'mqtt://127.0.0.1:1883' },
  lines: [
    { id: 'rs485-1', type: 'rtu', path: '/dev/ttyUSB0', devices: [{ id: 'radar', profile: 'vegapuls-c21' }, { id: 'climate', profile: 'sht20', unitId: 2 }] },
    { id: 'tcp-1', type: 'tcp', host: '10.0.0.5', devices: [{ id: 'aq', profile: 'vaisala-aqt530', unitId: 1 }] },
  ],
});

describe('planChanges', () => {
  it('changes nothing for the same document, reordered', () => {
    const b = base();
    const reordered = { ...b, lines: [...b.lines!].reverse().map((l) => ({ ...l, devices: [...l.devices!].reverse() })) } as GatewayConfigInput;
    const plan = planChanges(resolve(b), resolve(reordered));
    expect(isEmptyPlan(plan)).toBe(true);
    expect(plan.lines.keep.sort()).toEqual(['rs485-1', 'tcp-1']);
  });

  it('keys lines by id: added, removed, rebuilt for a new endpoint, updated in place otherwise', () => {
    const next = base();
    next.lines = [
      { id: 'rs485-1', type: 'rtu', path: '/dev/ttyUSB0', baudRate: 19200, devices: [{ id: 'radar', profile: 'vegapuls-c21' }, { id: 'climate', profile: 'sht20', unitId: 2 }] },
      { ...next.lines![1]!, timeoutMs: 800 },
      { id: 'rs485-2', type: 'rtu', path: '/dev/ttySC0', devices: [] },
    ] as GatewayConfigInput['lines'];
    const plan = planChanges(resolve(base()), resolve(next));
    expect(plan.lines.rebuild.map((l) => l.config.id)).toEqual(['rs485-1']);
    // the devices inherit the line's timeout, so they change too
    expect(plan.lines.update.map((u) => [u.line.config.id, u.devices])).toEqual([['tcp-1', { add: [], remove: [], change: ['aq'] }]]);
    expect(plan.lines.add.map((l) => l.config.id)).toEqual(['rs485-2']);
    expect(plan.lines.remove).toEqual([]);
    const gone = planChanges(resolve(next), resolve(base()));
    expect(gone.lines.remove).toEqual(['rs485-2']);
  });

  it('keys devices by id within a line', () => {
    const next = base();
    next.lines![0]!.devices = [
      { id: 'radar', profile: 'vegapuls-c21', pollIntervalMs: 1000 },
      { id: 'well', profile: 'pressure-level', unitId: 3 },
    ];
    const plan = planChanges(resolve(base()), resolve(next));
    expect(plan.lines.update).toHaveLength(1);
    expect(plan.lines.update[0]!.devices).toEqual({ add: ['well'], remove: ['climate'], change: ['radar'] });
  });

  it('reconnects the session only for the broker or identity; batch and window settings apply in place', () => {
    const a = resolve(base());
    expect(planChanges(a, resolve({ ...base(), forwarding: { brokerUrl: 'mqtt://127.0.0.1:1883', inflightWindow: 32 } })).forwarding).toBe('update');
    expect(planChanges(a, resolve({ ...base(), forwarding: { brokerUrl: 'mqtts://broker:8883' } })).forwarding).toBe('reconnect');
    expect(planChanges(a, resolve({ ...base(), forwarding: { brokerUrl: 'mqtt://127.0.0.1:1883', username: 'x' } })).forwarding).toBe('reconnect');
  });

  it('says which settings wait for the next start and which apply in place', () => {
    const plan = planChanges(resolve(base()), resolve({ ...base(), buffer: { path: 'other.db', maxRows: 5000 }, http: { port: 9200 }, log: { level: 'debug' } }));
    expect(plan.restartNeeded).toEqual(['buffer.path', 'buffer.maxRows', 'http']);
    expect(plan.inPlace).toEqual(['log.level']);
  });

  it('rebuilds camera probing when its section changes', () => {
    const withCam = { ...base(), cameras: { devices: [{ id: 'cam-1', host: '10.0.0.9' }] } };
    expect(planChanges(resolve(base()), resolve(withCam)).cameras).toBe('rebuild');
    expect(planChanges(resolve(withCam), resolve(withCam)).cameras).toBe('keep');
  });
});
