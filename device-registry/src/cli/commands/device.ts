import { bool, defined, int, requireStr, str, type CommandSpec } from '../command.js';
import { orDash } from '../output.js';

export const deviceCommands: CommandSpec[] = [
  {
    group: 'device',
    name: 'add',
    args: ['gateway', 'deviceId'],
    synopsis: '--line <line> --profile <profile> [--unit <n>] [--interval <ms>] [--offset <n>] [--name <name>] [--timeout-ms <ms>] [--disabled]',
    summary: 'add a Modbus device; the registry checks it against its profile and line',
    help: [
      '--line <line>        the line it hangs on (edgectl line set)',
      '--profile <id>       a built-in profile, e.g. sht20, vegapuls-c21, eastron-sdm120',
      '--unit <n>           Modbus unit id (1..247 on serial lines; default from the profile)',
      '--interval <ms>      poll interval',
      '--offset <n>         register address offset',
      '--name <name>, --timeout-ms <ms>, --disabled',
    ],
    options: {
      line: { type: 'string' },
      profile: { type: 'string' },
      unit: { type: 'string' },
      interval: { type: 'string' },
      offset: { type: 'string' },
      name: { type: 'string' },
      'timeout-ms': { type: 'string' },
      disabled: { type: 'boolean' },
    },
    async run({ args, flags, client, out }) {
      const d = await client.addDevice(args[0]!, {
        id: args[1]!,
        lineId: requireStr(flags, 'line', 'the line id'),
        profile: requireStr(flags, 'profile', 'a profile id such as sht20'),
        ...defined({ unitId: int(flags, 'unit'), pollIntervalMs: int(flags, 'interval'), addressOffset: int(flags, 'offset'), name: str(flags, 'name'), timeoutMs: int(flags, 'timeout-ms') }),
        ...(bool(flags, 'disabled') && { enabled: false }),
      });
      if (out.json) out.data(d);
      else out.line(`device ${d.id} added to ${args[0]} (line ${d.lineId}, ${d.profile}, unit ${orDash(d.unitId)}); push it with: edgectl config push ${args[0]}`);
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
          ['DEVICE', 'LINE', 'PROFILE', 'UNIT', 'INTERVAL', 'OFFSET', 'ENABLED', 'NAME'],
          devices.map((d) => [d.id, d.lineId, d.profile, orDash(d.unitId), d.pollIntervalMs === null ? '-' : `${d.pollIntervalMs} ms`, String(d.addressOffset), d.enabled ? 'yes' : 'no', orDash(d.name)]),
        );
      return 0;
    },
  },
];
