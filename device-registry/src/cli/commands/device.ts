import { bool, defined, int, list, requireStr, str, UsageError, type CommandSpec, type Flags } from '../command.js';
import { orDash } from '../output.js';
import type { DeviceInput, DeviceRecord } from '../registry-client.js';

type PointOverrides = NonNullable<DeviceInput['points']>;

/** `a,b` and repeated flags, as one list of point names. */
function pointNames(flags: Flags, name: string): string[] {
  const names = list(flags, name).flatMap((v) => v.split(',')).map((n) => n.trim()).filter((n) => n !== '');
  for (const n of names) if (!/^[a-z][a-z0-9_.]{0,63}$/.test(n)) throw new UsageError(`--${name}: "${n}" is not a point name (e.g. no2, pm2_5)`);
  return names;
}

/** `--range pv=0..12`, `--range pm10=..1000`: a point's valid range at this site. */
function pointRanges(flags: Flags): Array<[string, { min?: number; max?: number }]> {
  return list(flags, 'range').map((spec) => {
    const m = /^([a-z][a-z0-9_.]{0,63})=(-?[\d.e+-]*)\.\.(-?[\d.e+-]*)$/.exec(spec.trim());
    const num = (s: string | undefined) => (s === undefined || s === '' ? undefined : Number(s));
    const min = num(m?.[2]);
    const max = num(m?.[3]);
    if (!m || (min === undefined && max === undefined) || [min, max].some((v) => v !== undefined && !Number.isFinite(v))) {
      throw new UsageError(`--range: expected <point>=<min>..<max> (either bound may be left out), got "${spec}"`);
    }
    return [m[1]!, defined({ min, max })];
  });
}

/**
 * The device's point overrides with this command's switches applied: --disable-point sets
 * `enabled: false`, --enable-point removes that (the profile's point is read again), --range
 * sets the point's valid range. Other per-point settings are kept.
 */
function withPointSwitches(points: PointOverrides, flags: Flags): PointOverrides {
  const out: PointOverrides = structuredClone(points);
  const off = pointNames(flags, 'disable-point');
  const on = pointNames(flags, 'enable-point');
  const both = off.filter((n) => on.includes(n));
  if (both.length > 0) throw new UsageError(`--disable-point and --enable-point both name ${both.join(', ')}`);
  for (const n of off) out[n] = { ...out[n], enabled: false };
  for (const n of on) {
    const { enabled: _dropped, ...rest } = out[n] ?? {};
    if (Object.keys(rest).length > 0) out[n] = rest;
    else delete out[n];
  }
  for (const [n, range] of pointRanges(flags)) out[n] = { ...out[n], range };
  return out;
}

/** Points switched off on a device: "no2, so2" or "-". */
function disabledPoints(d: DeviceRecord): string {
  const off = Object.entries(d.points)
    .filter(([, o]) => o.enabled === false)
    .map(([n]) => n);
  return off.length > 0 ? off.join(', ') : '-';
}

/** The device's own settings, for add and set. */
const deviceOptions = {
  line: { type: 'string' },
  profile: { type: 'string' },
  unit: { type: 'string' },
  interval: { type: 'string' },
  offset: { type: 'string' },
  name: { type: 'string' },
  'timeout-ms': { type: 'string' },
  disabled: { type: 'boolean' },
} as const;

/** The settings flags give, as DeviceInput fields (undefined when not given). */
const deviceSettings = (flags: Flags) =>
  defined({ unitId: int(flags, 'unit'), pollIntervalMs: int(flags, 'interval'), addressOffset: int(flags, 'offset'), name: str(flags, 'name'), timeoutMs: int(flags, 'timeout-ms') });

const pointOptions = { 'disable-point': { type: 'string', multiple: true }, 'enable-point': { type: 'string', multiple: true }, range: { type: 'string', multiple: true } } as const;
const pointHelp = [
  '--disable-point <p,...>   points the device does not have (e.g. an AQT530 without gas cells: no2,so2,co,o3,no):',
  '                          never read, never published; repeatable',
  '--enable-point <p,...>    read those points again',
  "--range <p>=<min>..<max>  a point's valid range at this site, in its unit (values outside are published bad); repeatable",
];

export const deviceCommands: CommandSpec[] = [
  {
    group: 'device',
    name: 'add',
    args: ['gateway', 'deviceId'],
    synopsis: '--line <line> --profile <profile> [--unit <n>] [--interval <ms>] [--offset <n>] [--name <name>] [--timeout-ms <ms>] [--disabled] [--disable-point <p,...>] [--range <p>=<min>..<max>]',
    summary: 'add a Modbus device; the registry checks it against its profile and line',
    help: [
      '--line <line>        the line it hangs on (edgectl line set)',
      '--profile <id>       a built-in profile, e.g. sht20, vegapuls-c21, eastron-sdm120',
      '--unit <n>           Modbus unit id (1..247 on serial lines; default from the profile)',
      '--interval <ms>      poll interval',
      '--offset <n>         register address offset',
      '--name <name>, --timeout-ms <ms>, --disabled',
      ...pointHelp.filter((h) => !h.startsWith('--enable-point')),
    ],
    options: { ...deviceOptions, 'disable-point': pointOptions['disable-point'], range: pointOptions.range },
    async run({ args, flags, client, out }) {
      const points = withPointSwitches({}, flags);
      const d = await client.addDevice(args[0]!, {
        id: args[1]!,
        lineId: requireStr(flags, 'line', 'the line id'),
        profile: requireStr(flags, 'profile', 'a profile id such as sht20'),
        ...deviceSettings(flags),
        ...(bool(flags, 'disabled') && { enabled: false }),
        ...(Object.keys(points).length > 0 && { points }),
      });
      if (out.json) out.data(d);
      else out.line(`device ${d.id} added to ${args[0]} (line ${d.lineId}, ${d.profile}, unit ${orDash(d.unitId)}, points off: ${disabledPoints(d)}); push it with: edgectl config push ${args[0]}`);
      return 0;
    },
  },
  {
    group: 'device',
    name: 'set',
    args: ['gateway', 'deviceId'],
    synopsis: '[--line <line>] [--profile <profile>] [--unit <n>] [--interval <ms>] [--offset <n>] [--name <name>] [--timeout-ms <ms>] [--disabled | --enabled] [--disable-point <p,...>] [--enable-point <p,...>] [--range <p>=<min>..<max>]',
    summary: 'change a device: what is given changes, the rest is kept',
    help: ['--line, --profile, --unit, --interval, --offset, --name, --timeout-ms   as for device add', '--disabled, --enabled   stop or resume polling the whole device', ...pointHelp],
    options: { ...deviceOptions, enabled: { type: 'boolean' }, ...pointOptions },
    async run({ args, flags, client, out }) {
      if (bool(flags, 'disabled') && bool(flags, 'enabled')) throw new UsageError('--disabled and --enabled exclude each other');
      const cur = await client.getDevice(args[0]!, args[1]!);
      const points = withPointSwitches(cur.points, flags);
      const changes = { ...defined({ lineId: str(flags, 'line'), profile: str(flags, 'profile') }), ...deviceSettings(flags) };
      const enabled = bool(flags, 'disabled') ? false : bool(flags, 'enabled') ? true : cur.enabled;
      const d = await client.replaceDevice(args[0]!, args[1]!, {
        lineId: cur.lineId,
        profile: cur.profile,
        addressOffset: cur.addressOffset,
        ...defined({ name: cur.name ?? undefined, unitId: cur.unitId ?? undefined, pollIntervalMs: cur.pollIntervalMs ?? undefined, timeoutMs: cur.timeoutMs ?? undefined }),
        ...changes,
        enabled,
        points,
      });
      if (out.json) out.data(d);
      else out.line(`device ${d.id} on ${args[0]} changed (line ${d.lineId}, ${d.profile}, unit ${orDash(d.unitId)}, ${d.enabled ? 'enabled' : 'disabled'}, points off: ${disabledPoints(d)}); push it with: edgectl config push ${args[0]}`);
      return 0;
    },
  },
  {
    group: 'device',
    name: 'rm',
    args: ['gateway', 'deviceId'],
    summary: 'remove a device',
    options: {},
    async run({ args, client, out }) {
      await client.removeDevice(args[0]!, args[1]!);
      if (out.json) out.data({ gatewayId: args[0], deviceId: args[1], removed: true });
      else out.line(`device ${args[1]} removed from ${args[0]}; push it with: edgectl config push ${args[0]}`);
      return 0;
    },
  },
  {
    group: 'device',
    name: 'list',
    args: ['gateway'],
    summary: "list a gateway's devices",
    options: {},
    async run({ args, client, out }) {
      const devices = await client.listDevices(args[0]!);
      if (out.json) out.data(devices);
      else if (devices.length === 0) out.line(`no devices on ${args[0]}`);
      else
        out.table(
          ['DEVICE', 'LINE', 'PROFILE', 'UNIT', 'INTERVAL', 'OFFSET', 'ENABLED', 'POINTS OFF', 'NAME'],
          devices.map((d) => [d.id, d.lineId, d.profile, orDash(d.unitId), d.pollIntervalMs === null ? '-' : `${d.pollIntervalMs} ms`, String(d.addressOffset), d.enabled ? 'yes' : 'no', disabledPoints(d), orDash(d.name)]),
        );
      return 0;
    },
  },
];
