import { bool, int, list, oneOf, positive, str, UsageError, type CommandContext, type CommandSpec, type OptionSpec } from '../command.js';
import { orDash } from '../output.js';
import { formatTime } from '../time-zones.js';
import { OpsApi, type CommandRecord, type CommandStatus } from '../ops-api.js';
import { EXIT, poll } from '../watch.js';

const STATUSES: readonly CommandStatus[] = ['pending', 'sent', 'accepted', 'progress', 'succeeded', 'failed', 'refused', 'expired'];
const FAILED = new Set<CommandStatus>(['failed', 'refused', 'expired']);

const watchOptions = { timeout: { type: 'string' }, interval: { type: 'string' } } as const;
const watchHelp = ['--timeout <s>         give up watching after this long with exit 3 (default 300)', '--interval <ms>       poll interval (default 1000)'];
const sendOptions: Record<string, OptionSpec> = { ttl: { type: 'string' }, watch: { type: 'boolean' }, ...watchOptions };
const sendHelp = [
  '--ttl <s>             the gateway refuses it after this long (default 60, at most 3600)',
  '--watch               follow it: progress, then the result; exit 0 succeeded, 1 failed, refused or expired',
  ...watchHelp,
];
const SEND_SYNOPSIS = '[--ttl <s>] [--watch [--timeout <s>] [--interval <ms>]]';

const api = (ctx: CommandContext) => new OpsApi(ctx.client);

function describe(c: CommandRecord): string {
  const parts: string[] = [c.state];
  if (c.progress && (c.state === 'progress' || c.state === 'accepted')) parts.push(`${c.progress.done}/${c.progress.total}${c.progress.message ? ` ${c.progress.message}` : ''}`);
  if (c.error) parts.push(`${c.error.code}: ${c.error.message}`);
  if (c.repeat) parts.push('(answered from the stored result of an earlier delivery)');
  return parts.join(' ');
}

/** A result as lines: log lines as they are, anything else as indented JSON. */
function resultLines(result: unknown): string[] {
  if (result === null || result === undefined) return [];
  const lines = (result as { lines?: unknown }).lines;
  if (Array.isArray(lines) && lines.every((l) => typeof l === 'string')) return lines as string[];
  return JSON.stringify(result, null, 2).split('\n');
}

/** Follows a command until it ends: 0 succeeded, 1 failed, refused or expired, 3 out of time. */
async function watchCommand(ctx: CommandContext, id: string): Promise<number> {
  const { out, flags } = ctx;
  const timeoutS = positive(flags, 'timeout', 300);
  let last: string | undefined;
  let state = 'unknown';
  let zone: string | undefined;
  return poll({
    ctx,
    intervalMs: positive(flags, 'interval', 1000),
    timeoutMs: timeoutS * 1000,
    read: async () => {
      const c = await api(ctx).getCommand(id);
      zone ??= await ctx.zones.forGateway(c.gatewayId);
      return c;
    },
    step: (c) => {
      state = c.state;
      const key = JSON.stringify([c.state, c.progress, c.error, c.repeat]);
      if (key !== last) {
        last = key;
        if (out.json) out.event({ at: ctx.now(), id, gatewayId: c.gatewayId, name: c.name, state: c.state, progress: c.progress, error: c.error, ...(c.state === 'succeeded' && { result: c.result }) });
        else out.line(`${formatTime(ctx.now(), zone)}  ${c.gatewayId} ${c.name} ${describe(c)}`);
      }
      if (c.state === 'succeeded') {
        if (!out.json) for (const l of resultLines(c.result)) out.line(l);
        return EXIT.ok;
      }
      if (FAILED.has(c.state)) {
        out.error(`edgectl: cmd watch: ${c.gatewayId} ${c.name} ${id} ${c.state === 'expired' ? 'expired without an answer from the gateway' : describe(c)}`);
        return EXIT.failed;
      }
      return undefined;
    },
    onTimeout: () => {
      out.error(`edgectl: cmd watch: ${id} still ${state} after ${timeoutS} s`);
      return EXIT.timeout;
    },
  });
}

/** Sends a command; with --watch follows it to its end. */
async function send(ctx: CommandContext, gatewayId: string, name: string, args: Record<string, unknown>): Promise<number> {
  const { out, flags } = ctx;
  const ttl = int(flags, 'ttl');
  const watch = bool(flags, 'watch');
  const c = await api(ctx).sendCommand(gatewayId, { name, args, ...(ttl !== undefined && { ttlMs: ttl * 1000 }) });
  if (out.json) {
    if (watch) out.event(c);
    else out.data(c);
  } else out.line(`${gatewayId}: ${name} ${c.id} ${c.state} (expires ${formatTime(c.expiresAt, await ctx.zones.forGateway(gatewayId))})${watch ? '' : `; follow it with: edgectl cmd watch ${c.id}`}`);
  if (c.warning) out.error(`edgectl: ${ctx.command}: warning: ${c.warning}`);
  return watch ? watchCommand(ctx, c.id) : EXIT.ok;
}

/** `--arg k=v`: v as JSON when it parses (numbers, booleans, arrays), else as a string. */
function parseArgFlags(values: readonly string[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const a of values) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`--arg: expected key=value, got "${a}"`);
    const raw = a.slice(eq + 1);
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      // a plain string
    }
    args[a.slice(0, eq)] = v;
  }
  return args;
}

function pointValue(v: string): number | boolean {
  if (v === 'true' || v === 'false') return v === 'true';
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`<value>: expected a number, true or false, got "${v}"`);
  return n;
}

function baudRates(flags: CommandContext['flags']): number[] | undefined {
  const v = str(flags, 'baud');
  if (v === undefined) return undefined;
  const rates = v.split(',').map((s) => s.trim());
  if (rates.some((r) => !/^\d{3,6}$/.test(r))) throw new UsageError(`--baud: expected baud rates separated by commas (9600,19200), got "${v}"`);
  return rates.map(Number);
}

/** A command sent under its own words: `edgectl cmd <word> <gateway> ...`. */
function sugar(name: string, args: string[], summary: string, commandName: string, build: (ctx: CommandContext) => Record<string, unknown>, extra: { synopsis?: string; help?: string[]; options?: Record<string, OptionSpec> } = {}): CommandSpec {
  return {
    group: 'cmd',
    name,
    args: ['gateway', ...args],
    synopsis: [extra.synopsis, SEND_SYNOPSIS].filter(Boolean).join(' '),
    summary: `${summary} (${commandName})`,
    help: [...(extra.help ?? []), ...sendHelp],
    options: { ...extra.options, ...sendOptions },
    run: (ctx) => send(ctx, ctx.args[0]!, commandName, build(ctx)),
  };
}

export const cmdCommands: CommandSpec[] = [
  {
    group: 'cmd',
    name: 'send',
    args: ['gateway', 'name'],
    synopsis: `[--arg <key=value> ...] ${SEND_SYNOPSIS}`,
    summary: 'send a command by name (point.write, device.read, line.scan, serial.list, camera.probe, logs.tail, agent.restart)',
    help: ['--arg <key=value>     an argument; the value is read as JSON when it parses (40, true, [9600,19200]), else as text; repeat it', ...sendHelp],
    options: { arg: { type: 'string', multiple: true }, ...sendOptions },
    run: (ctx) => send(ctx, ctx.args[0]!, ctx.args[1]!, parseArgFlags(list(ctx.flags, 'arg'))),
  },
  sugar('write', ['device', 'point', 'value'], 'write a point (e.g. a lamp level) and read it back to confirm', 'point.write', (ctx) => ({ dev: ctx.args[1], pt: ctx.args[2], value: pointValue(ctx.args[3]!), ...(bool(ctx.flags, 'no-confirm') && { confirm: false }) }), {
    synopsis: '[--no-confirm]',
    help: ['--no-confirm          do not read the point back after writing it'],
    options: { 'no-confirm': { type: 'boolean' } },
  }),
  sugar('read', ['device'], 'read every point of a device now', 'device.read', (ctx) => ({ dev: ctx.args[1] })),
  sugar(
    'scan',
    ['line'],
    'look for Modbus unit ids on a line (and baud rates on serial lines), between its polls',
    'line.scan',
    (ctx) => {
      const deadline = int(ctx.flags, 'deadline');
      const rates = baudRates(ctx.flags);
      const probe = int(ctx.flags, 'probe-timeout');
      const from = int(ctx.flags, 'from');
      const to = int(ctx.flags, 'to');
      return { line: ctx.args[1], ...(from !== undefined && { from }), ...(to !== undefined && { to }), ...(rates && { baudRates: rates }), ...(probe !== undefined && { timeoutMs: probe }), ...(deadline !== undefined && { deadlineMs: deadline * 1000 }) };
    },
    {
      synopsis: '[--from <unit>] [--to <unit>] [--baud <rate,rate>] [--probe-timeout <ms>] [--deadline <s>]',
      help: ['--from, --to <unit>   the unit ids to try (default 1..247)', '--baud <rate,...>     also try these baud rates (serial lines), e.g. 9600,19200', '--probe-timeout <ms>  per probe (default the line\'s timeout)', '--deadline <s>        the scan ends by then with what it found (default 120)'],
      options: { from: { type: 'string' }, to: { type: 'string' }, baud: { type: 'string' }, 'probe-timeout': { type: 'string' }, deadline: { type: 'string' } },
    },
  ),
  sugar('ports', [], "list the gateway's serial ports", 'serial.list', () => ({})),
  sugar('probe-camera', ['camera'], 'probe a camera now', 'camera.probe', (ctx) => ({ camera: ctx.args[1] })),
  sugar(
    'logs',
    [],
    "the agent's last log lines, secrets redacted",
    'logs.tail',
    (ctx) => {
      const lines = int(ctx.flags, 'lines');
      return lines === undefined ? {} : { lines };
    },
    { synopsis: '[--lines <n>]', help: ['--lines <n>           how many (default 100, at most 1000)'], options: { lines: { type: 'string' } } },
  ),
  sugar('restart', [], 'restart the agent (systemd starts it again)', 'agent.restart', () => ({})),
  {
    group: 'cmd',
    name: 'watch',
    args: ['id'],
    synopsis: '[--timeout <s>] [--interval <ms>]',
    summary: 'follow a command until it ends: exit 0 succeeded, 1 failed, refused or expired, 3 out of time',
    help: watchHelp,
    options: watchOptions,
    run: (ctx) => watchCommand(ctx, ctx.args[0]!),
  },
  {
    group: 'cmd',
    name: 'show',
    args: ['id'],
    summary: 'one command: arguments, who sent it, its state, progress, result or error',
    options: {},
    async run(ctx) {
      const c = await api(ctx).getCommand(ctx.args[0]!);
      if (ctx.out.json) {
        ctx.out.data(c);
        return EXIT.ok;
      }
      const zone = await ctx.zones.forGateway(c.gatewayId);
      ctx.out.fields([
        ['command', c.id],
        ['gateway', c.gatewayId],
        ['name', c.name],
        ['args', JSON.stringify(c.args)],
        ['sent by', c.actor],
        ['issued', formatTime(c.issuedAt, zone)],
        ['expires', formatTime(c.expiresAt, zone)],
        ['state', `${describe(c)} (since ${formatTime(c.stateAt, zone)})`],
        ['published', c.publishCount === 0 ? 'not yet (the broker has not taken it)' : `${c.publishCount} time(s), last ${formatTime(c.publishedAt, zone)}`],
        ['progress', c.progress ? `${c.progress.done}/${c.progress.total}${c.progress.message ? ` ${c.progress.message}` : ''}` : '-'],
      ]);
      const lines = resultLines(c.result);
      if (lines.length > 0) {
        ctx.out.line(c.state === 'succeeded' ? 'result:' : 'found so far:');
        for (const l of lines) ctx.out.line(`  ${l}`);
      }
      return EXIT.ok;
    },
  },
  {
    group: 'cmd',
    name: 'list',
    args: ['gateway'],
    synopsis: '[--state <state>] [--limit <n>]',
    summary: "the gateway's commands, newest first",
    help: [`--state <state>       only these: ${STATUSES.join(', ')}`, '--limit <n>           at most this many (default 50)'],
    options: { state: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx) {
      const gw = ctx.args[0]!;
      const state = oneOf(ctx.flags, 'state', STATUSES);
      const limit = int(ctx.flags, 'limit');
      const { commands } = await api(ctx).listCommands(gw, { ...(state && { state }), ...(limit !== undefined && { limit }) });
      const gwZone = await ctx.zones.forGateway(gw);
      if (ctx.out.json) ctx.out.data(commands);
      else if (commands.length === 0) ctx.out.line(`no commands for ${gw}${state ? ` in state ${state}` : ''}`);
      else ctx.out.table(['ID', 'NAME', 'STATE', 'ISSUED', 'BY', 'DETAIL'], commands.map((c) => [c.id, c.name, c.state, formatTime(c.issuedAt, gwZone), c.actor, orDash(describe(c).slice(c.state.length).trim())]));
      return EXIT.ok;
    },
  },
];
