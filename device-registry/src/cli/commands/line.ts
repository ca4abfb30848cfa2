import { defined, int, requireStr, str, type CommandSpec } from '../command.js';
import { orDash } from '../output.js';
import type { LineInput, LineView } from '../registry-client.js';

const SHOWN = new Set(['id', 'type', 'path', 'host', 'port', 'createdAt', 'updatedAt']);

function where(l: LineView): string {
  if (l.type === 'rtu') return orDash(l.path);
  return `${orDash(l.host)}:${orDash(l.port)}`;
}

function settings(l: LineView): string {
  return Object.entries(l)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

export const lineCommands: CommandSpec[] = [
  {
    group: 'line',
    name: 'set',
    args: ['gateway', 'lineId'],
    synopsis: '--type rtu|tcp|rtu-over-tcp [--path <dev>] [--host <host> --port <n>] [--baud <n>] [--parity none|even|odd] [--data-bits 7|8] [--stop-bits 1|2] [--timeout-ms <ms>] [--retries <n>]',
    summary: 'create or replace a Modbus line (the whole line: give every setting you want kept)',
    help: [
      '--type <type>        rtu (serial), tcp (Modbus TCP) or rtu-over-tcp (serial server)',
      '--path <dev>         serial device for rtu, e.g. /dev/ttyUSB0',
      '--host, --port       address for tcp and rtu-over-tcp',
      '--baud <n>           serial speed, e.g. 9600',
      '--parity <p>         none, even or odd',
      '--data-bits <n>, --stop-bits <n>, --timeout-ms <ms>, --retries <n>',
    ],
    options: {
      type: { type: 'string' },
      path: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      baud: { type: 'string' },
      parity: { type: 'string' },
      'data-bits': { type: 'string' },
      'stop-bits': { type: 'string' },
      'timeout-ms': { type: 'string' },
      retries: { type: 'string' },
    },
    async run({ args, flags, client, out }) {
      const input = {
        type: requireStr(flags, 'type', 'rtu, tcp or rtu-over-tcp') as LineInput['type'],
        ...defined({
          path: str(flags, 'path'),
          host: str(flags, 'host'),
          port: int(flags, 'port'),
          baudRate: int(flags, 'baud'),
          parity: str(flags, 'parity'),
          dataBits: int(flags, 'data-bits'),
          stopBits: int(flags, 'stop-bits'),
          timeoutMs: int(flags, 'timeout-ms'),
          retries: int(flags, 'retries'),
        }),
      };
      const line = await client.putLine(args[0]!, args[1]!, input);
      if (out.json) out.data(line);
      else out.line(`line ${line.id} on ${args[0]} set: ${line.type} ${where(line)}${settings(line) ? ` ${settings(line)}` : ''}`);
      return 0;
    },
  },
  {
    group: 'line',
    name: 'list',
    args: ['gateway'],
    summary: "list a gateway's lines",
    options: {},
    async run({ args, client, out }) {
      const lines = await client.listLines(args[0]!);
      if (out.json) out.data(lines);
      else if (lines.length === 0) out.line(`no lines on ${args[0]}`);
      else out.table(['LINE', 'TYPE', 'WHERE', 'SETTINGS'], lines.map((l) => [l.id, l.type, where(l), settings(l)]));
      return 0;
    },
  },
  {
    group: 'line',
    name: 'rm',
    args: ['gateway', 'lineId'],
    summary: 'remove a line without devices',
    options: {},
    async run({ args, client, out }) {
      await client.deleteLine(args[0]!, args[1]!);
      if (out.json) out.data({ gatewayId: args[0], lineId: args[1], removed: true });
      else out.line(`line ${args[1]} removed from ${args[0]}`);
      return 0;
    },
  },
];
