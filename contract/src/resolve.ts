import { parse as parseYaml, YAMLParseError } from 'yaml';
import { GatewayConfig, type DeviceConfig, type FirmataLineConfig, type ModbusLineConfig } from './config-schema.js';
import { resolveFirmataLine, type ResolvedFirmataLine } from './firmata-config.js';
import type { DeviceProfile, PointSpec, ValueRange } from './profile-schema.js';
import { createCatalog, type ProfileCatalog } from './profiles.js';
import { formatPath, problemsFromZod, type Problem } from './problems.js';
import { checkRulesReferences, type DirectoryDevice } from './rules-references.js';

/** A device with its profile applied: the points it really polls, at their final addresses. */
export interface ResolvedDevice {
  id: string;
  name?: string;
  lineId: string;
  profile: DeviceProfile;
  unitId: number;
  pollIntervalMs: number;
  timeoutMs: number;
  points: PointSpec[];
}

export interface ResolvedLine {
  config: ModbusLineConfig;
  devices: ResolvedDevice[];
}

export interface ResolvedConfig {
  config: GatewayConfig;
  /** The Modbus lines. */
  lines: ResolvedLine[];
  /** The Firmata board lines (lines of type "firmata"), in configuration order. */
  firmataLines: ResolvedFirmataLine<FirmataLineConfig>[];
  catalog: ProfileCatalog;
}

export type Result<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/**
 * Aliases a document may resolve. A configuration has no use for many; an "alias bomb" (aliases
 * of aliases) would expand to gigabytes, and the yaml package refuses past this count.
 */
const MAX_ALIAS_COUNT = 100;

/** Parses YAML or JSON text; a syntax error is reported with its line and column. Never throws. */
export function parseDocumentText(text: string): Result<unknown> {
  try {
    return { ok: true, value: parseYaml(text, { prettyErrors: true, maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : '(document)';
      return { ok: false, problems: [{ path: where, message: (err.message.split('\n')[0] ?? 'syntax error').replace(/ at line \d+, column \d+:?$/, '') }] };
    }
    // The alias limit is a ReferenceError from the yaml package, not a YAMLParseError.
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      return { ok: false, problems: [{ path: '(document)', message: `too many YAML aliases (more than ${MAX_ALIAS_COUNT} resolved): refused as a resource-exhaustion attack` }] };
    }
    return { ok: false, problems: [{ path: '(document)', message: `cannot be parsed: ${err instanceof Error ? err.message : String(err)}` }] };
  }
}

const DEFAULT_POLL_MS = 5000;

function resolveDevice(
  device: DeviceConfig,
  line: ModbusLineConfig,
  profile: DeviceProfile,
  at: (string | number)[],
  problems: Problem[],
): ResolvedDevice {
  const names = new Set(profile.points.map((p) => p.name));
  for (const name of Object.keys(device.points)) {
    if (!names.has(name)) {
      problems.push({ path: pathOf([...at, 'points', name]), message: `profile "${profile.id}" has no point "${name}" (it has ${[...names].join(', ')})` });
    }
  }
  const points: PointSpec[] = [];
  for (const base of profile.points) {
    const o = device.points[base.name] ?? {};
    if (o.enabled === false) continue;
    const address = base.address + device.addressOffset;
    if (address > 65535) {
      problems.push({ path: pathOf([...at, 'addressOffset']), message: `moves point "${base.name}" past address 65535` });
      continue;
    }
    const pointAt = [...at, 'points', base.name];
    if (o.range !== undefined && (base.type === 'bool' || base.type === 'string')) {
      problems.push({ path: pathOf([...pointAt, 'range']), message: `a ${base.type} point has no range` });
    }
    // The profile's range is in the profile's unit: a site that changes the unit must say the range in it.
    if (o.unit !== undefined && o.unit !== base.unit && base.range !== undefined && o.range === undefined) {
      problems.push({ path: pathOf([...pointAt, 'range']), message: `required when the unit changes from "${base.unit ?? ''}" to "${o.unit}" (the profile's range ${formatRange(base.range)} is in "${base.unit ?? ''}")` });
    }
    points.push({
      ...base,
      address,
      ...(o.wordOrder !== undefined && { wordOrder: o.wordOrder }),
      ...(o.scale !== undefined && { scale: o.scale }),
      ...(o.offset !== undefined && { offset: o.offset }),
      ...(o.unit !== undefined && { unit: o.unit }),
      ...(o.range !== undefined && { range: o.range }),
    });
  }
  // A point whose decimals come from a disabled point cannot be scaled.
  for (const p of points) {
    if (p.decimalsFrom && !points.some((q) => q.name === p.decimalsFrom)) {
      problems.push({ path: pathOf([...at, 'points', p.decimalsFrom, 'enabled']), message: `"${p.name}" takes its decimals from "${p.decimalsFrom}", which cannot be disabled` });
    }
  }
  return {
    id: device.id,
    ...(device.name !== undefined && { name: device.name }),
    lineId: line.id,
    profile,
    unitId: device.unitId ?? profile.defaults.unitId ?? 1,
    pollIntervalMs: device.pollIntervalMs ?? profile.defaults.pollIntervalMs ?? DEFAULT_POLL_MS,
    timeoutMs: device.timeoutMs ?? line.timeoutMs,
    points,
  };
}

function pathOf(parts: (string | number)[]): string {
  return formatPath(parts);
}

/** "0..30", "..1000", "-40.." */
export function formatRange(r: ValueRange): string {
  return `${r.min ?? ''}..${r.max ?? ''}`;
}

/**
 * Validates a gateway configuration document and applies profiles to its devices. Every problem
 * is reported at once, each with its path; nothing is returned unless there are none.
 * `extraProfiles` are profiles loaded from `profileDirs` by the caller.
 */
export function resolveGatewayConfig(
  raw: unknown,
  baseCatalog: ProfileCatalog,
  extraProfiles: readonly DeviceProfile[] = [],
): Result<ResolvedConfig> {
  const parsed = GatewayConfig.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { ok: false, problems: problemsFromZod(parsed.error) };
  const config = parsed.data;
  const catalog = createCatalog([...baseCatalog.values()], extraProfiles, config.profiles);
  const problems: Problem[] = [];
  const lines: ResolvedLine[] = [];
  const firmataLines: ResolvedFirmataLine<FirmataLineConfig>[] = [];
  config.lines.forEach((line, li) => {
    if (line.type === 'firmata') {
      firmataLines.push(resolveFirmataLine(line));
      return;
    }
    const taken = new Map<string, number>();
    const devices: ResolvedDevice[] = [];
    line.devices.forEach((device, di) => {
      const at: (string | number)[] = ['lines', li, 'devices', di];
      const profile = catalog.get(device.profile);
      if (!profile) {
        problems.push({ path: pathOf([...at, 'profile']), message: `unknown profile "${device.profile}" (known: ${[...catalog.keys()].sort().join(', ')})` });
        return;
      }
      const resolved = resolveDevice(device, line, profile, at, problems);
      if (line.type !== 'tcp' && (resolved.unitId < 1 || resolved.unitId > 247)) {
        problems.push({ path: pathOf([...at, 'unitId']), message: `unit id ${resolved.unitId} (from profile "${profile.id}") is outside 1..247 on a serial bus; set unitId` });
      }
      const key = `${resolved.unitId}@${device.addressOffset}`;
      const other = taken.get(key);
      if (other !== undefined) {
        problems.push({ path: pathOf([...at, 'unitId']), message: `unit id ${resolved.unitId} at address offset ${device.addressOffset} is already used on this line by devices[${other}]` });
      } else taken.set(key, di);
      if (device.enabled) devices.push(resolved);
    });
    lines.push({ config: line, devices });
  });
  if (config.rules) {
    // Rules reach Modbus devices and Firmata boards alike (a siren on a relay or on a board's pin).
    const devices = new Map<string, DirectoryDevice>(lines.flatMap((l) => l.devices.map((d) => [d.id, d] as const)));
    for (const board of firmataLines) {
      for (const d of board.devices) devices.set(d.id, { points: d.points.map((p) => ({ name: p.name, writable: p.mode === 'digital-out' && p.writable !== false, unit: p.unit })) });
    }
    problems.push(...checkRulesReferences(config.rules, devices));
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { config, lines, firmataLines, catalog } };
}
