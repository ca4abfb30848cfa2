import type { Problem } from './problems.js';
import { formatPath } from './problems.js';
import type { PointRef, RulesConfig } from './rules-config.js';
import { CONCENTRATION_UNITS } from './rules-config.js';
import { compileExpression } from './safe-expression.js';

/** What the rules need to know of a device: its points as resolved from its profile. */
export interface DirectoryDevice {
  points: ReadonlyArray<{ name: string; writable?: boolean | undefined; unit?: string | undefined }>;
}

/**
 * Problems of rules that name devices and points: a device or point that does not exist in
 * `lines`, an output that is not writable, a pollutant point in a unit the AQI cannot convert,
 * a station id that is also a device id (its derived readings would mix with the device's).
 */
export function checkRulesReferences(rules: RulesConfig, devices: ReadonlyMap<string, DirectoryDevice>): Problem[] {
  const problems: Problem[] = [];
  const at = (...path: (string | number)[]) => formatPath(['rules', ...path]);
  const point = (ref: PointRef, path: (string | number)[], need: { writable?: boolean } = {}) => {
    const dev = devices.get(ref.dev);
    if (!dev) {
      problems.push({ path: at(...path, 'dev'), message: `no enabled device "${ref.dev}" in lines (known: ${[...devices.keys()].sort().join(', ') || 'none'})` });
      return undefined;
    }
    const p = dev.points.find((q) => q.name === ref.pt);
    if (!p) {
      problems.push({ path: at(...path, 'pt'), message: `device "${ref.dev}" has no point "${ref.pt}" (it has ${dev.points.map((q) => q.name).join(', ')})` });
      return undefined;
    }
    if (need.writable && !p.writable) problems.push({ path: at(...path, 'pt'), message: `point "${ref.pt}" of device "${ref.dev}" is not writable` });
    return p;
  };
  const notADevice = (id: string, path: (string | number)[]) => {
    if (devices.has(id)) problems.push({ path: at(...path, 'id'), message: `"${id}" is also a device id: a station's derived readings would mix with the device's; choose another id` });
  };

  rules.flood.forEach((s, i) => {
    notADevice(s.id, ['flood', i]);
    point(s.sensor, ['flood', i, 'sensor']);
    for (const level of ['bd1', 'bd2', 'bd3', 'rise'] as const) s.outputs[level].forEach((o, j) => point(o, ['flood', i, 'outputs', level, j], { writable: true }));
  });

  rules.aqi.forEach((s, i) => {
    notADevice(s.id, ['aqi', i]);
    for (const [name, ref] of Object.entries(s.pollutants)) {
      if (!ref) continue;
      const p = point(ref, ['aqi', i, 'pollutants', name]);
      const unit = ref.unit ?? p?.unit;
      if (p && unit !== undefined && !(CONCENTRATION_UNITS as readonly string[]).includes(unit)) {
        problems.push({ path: at('aqi', i, 'pollutants', name, 'unit'), message: `point "${ref.pt}" of "${ref.dev}" is in "${unit}"; expected one of ${CONCENTRATION_UNITS.join(', ')}` });
      }
    }
  });

  rules.lighting.forEach((g, i) => {
    notADevice(g.id, ['lighting', i]);
    g.broadcast.forEach((b, j) => point(b, ['lighting', i, 'broadcast', j], { writable: true }));
    g.ballasts.forEach((dev, j) => {
      const path = ['lighting', i, 'ballasts', j];
      if (!devices.has(dev)) {
        problems.push({ path: at(...path), message: `no enabled device "${dev}" in lines` });
        return;
      }
      const bp = g.ballastPoints;
      const before = problems.length;
      point({ dev, pt: bp.setpoint }, path, { writable: g.broadcast.length === 0 });
      for (const pt of [bp.actual, bp.lampFailure, bp.ballastFailure]) point({ dev, pt }, path);
      // point() reports under .../dev and .../pt; a ballast entry is a bare device id.
      for (const p of problems.slice(before)) p.path = at(...path);
    });
    if (g.lightSensor) point(g.lightSensor, ['lighting', i, 'lightSensor']);
    if (g.power) point(g.power, ['lighting', i, 'power']);
  });

  const derived = new Map<string, number>();
  rules.derived.forEach((d, i) => {
    const dev = devices.get(d.dev);
    if (!dev) {
      problems.push({ path: at('derived', i, 'dev'), message: `no enabled device "${d.dev}" in lines` });
      return;
    }
    if (dev.points.some((p) => p.name === d.pt)) problems.push({ path: at('derived', i, 'pt'), message: `device "${d.dev}" already has a point "${d.pt}"` });
    const key = `${d.dev}/${d.pt}`;
    const prev = derived.get(key);
    if (prev !== undefined) problems.push({ path: at('derived', i, 'pt'), message: `"${key}" is also derived by rules.derived[${prev}]` });
    else derived.set(key, i);
    for (const v of compileExpression(d.expr).variables) {
      if (!dev.points.some((p) => p.name === v)) problems.push({ path: at('derived', i, 'expr'), message: `"${v}" is not a point of device "${d.dev}" (it has ${dev.points.map((q) => q.name).join(', ')})` });
    }
  });
  return problems;
}
