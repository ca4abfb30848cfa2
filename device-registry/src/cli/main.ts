import { parseArgs } from 'node:util';
import { CommandFailure, UsageError, usageLine, type CommandSpec, type Flags, type OptionSpec } from './command.js';
import { auditCommands } from './commands/audit.js';
import { alarmCommands } from './commands/alarm.js';
import { cmdCommands } from './commands/cmd.js';
import { configCommands } from './commands/config.js';
import { deviceCommands } from './commands/device.js';
import { eventCommands } from './commands/events.js';
import { gatewayCommands } from './commands/gateway.js';
import { lineCommands } from './commands/line.js';
import { rolloutCommands } from './commands/rollout.js';
import { rulesCommands } from './commands/rules.js';
import { siteCommands } from './commands/site.js';
import { tokenCommands } from './commands/token.js';
import { accountCommands } from './commands/accounts.js';
import { Output, type CliIo } from './output.js';
import { RegistryApiError, RegistryClient, RegistryClientError } from './registry-client.js';
import { isTimeZone, TimeZones } from './time-zones.js';
import { EXIT } from './watch.js';

export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8780';

export const COMMANDS: readonly CommandSpec[] = [...siteCommands, ...gatewayCommands, ...lineCommands, ...deviceCommands, ...rulesCommands, ...configCommands, ...rolloutCommands, ...tokenCommands, ...accountCommands, ...auditCommands, ...cmdCommands, ...alarmCommands, ...eventCommands];

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  registry: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = `global options:
  --registry <url>   the registry's API, e.g. http://registry.example:8780  [$EDGECTL_REGISTRY or ${DEFAULT_REGISTRY_URL}]
  --token <token>    an API token (viewer, technician or admin)  [$EDGECTL_TOKEN; prefer it: arguments show in ps]
  --json             machine output: the API's answer as JSON (times in ms since the epoch, UTC);
                     watches print one JSON object per line

times are shown in the time zone of the record's site (site create --tz), else in $EDGECTL_TZ
(an IANA zone; default Asia/Ho_Chi_Minh), with the offset from UTC: 2025-06-02 17:00:00 +07:00
  -h, --help         this help; edgectl <command> --help for a command's options`;

const EXIT_HELP = `exit status: 0 done; 1 the registry refused, could not be reached, or a watched config, rollout or
command failed (a command also when refused or expired); 2 bad usage; 3 a watch ran out of time; 4 a watched
config was committed but the gateway reports lines or devices with problems (see edgectl gateway show);
130 interrupted`;

/** The whole usage text (`edgectl --help`). */
export function usage(): string {
  const lines = ['usage: edgectl <command> [options]', '', "The technicians' command line for the cityedge device registry.", '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${usageLine(c).slice('edgectl '.length)}`, `      ${c.summary}`);
  return [...lines, '', GLOBAL_HELP, '', EXIT_HELP].join('\n');
}

export function commandHelp(c: CommandSpec): string {
  const lines = [`usage: ${usageLine(c)}`, '', c.summary];
  if (c.help && c.help.length > 0) lines.push('', 'options:', ...c.help.map((h) => `  ${h}`));
  return [...lines, '', GLOBAL_HELP].join('\n');
}

function groupHelp(group: string): string {
  return [`usage: edgectl ${group} <command> ...`, '', 'commands:', ...COMMANDS.filter((c) => c.group === group).flatMap((c) => [`  ${usageLine(c).slice('edgectl '.length)}`, `      ${c.summary}`]), '', GLOBAL_HELP].join('\n');
}

/** parseArgs' messages, shortened to name the flag. */
function parseMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const opt = /'([^']+)'/.exec(msg)?.[1];
    return `unknown option ${opt ?? msg}`;
  }
  return msg.split('\n')[0]!.replace(/^Option '([^' ]+)[^']*'/, '$1:');
}

function isValidUrl(u: string): boolean {
  try {
    const p = new URL(u);
    return (p.protocol === 'http:' || p.protocol === 'https:') && p.host !== '';
  } catch {
    return false;
  }
}

/**
 * edgectl: `argv` without the node and script paths. Writes to `io.stdout`/`io.stderr` and
 * resolves with the exit code (see EXIT_HELP); never throws, never prints a stack trace or the token.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const plain = new Output(io, false);
  // First pass: find the command words among the global options.
  const pre = parseArgs({ args: [...argv], options: GLOBAL_OPTIONS, strict: false, allowPositionals: true });
  const [group, name] = pre.positionals;
  if (group === undefined || group === 'help') {
    const asked = pre.values.help === true || group === 'help';
    const topic = pre.positionals[1];
    const spec = COMMANDS.find((c) => c.group === topic && c.name === pre.positionals[2]);
    const text = spec ? commandHelp(spec) : topic !== undefined && COMMANDS.some((c) => c.group === topic) ? groupHelp(topic) : usage();
    if (asked) plain.line(text);
    else plain.error(`edgectl: missing command\n${text}`);
    return asked ? EXIT.ok : EXIT.usage;
  }
  if (!COMMANDS.some((c) => c.group === group)) {
    plain.error(`edgectl: unknown command "${group}"; run edgectl --help for the list`);
    return EXIT.usage;
  }
  // A group's command without a name (`edgectl events <gateway>`) takes what follows the group.
  const spec = COMMANDS.find((c) => c.group === group && c.name === name) ?? COMMANDS.find((c) => c.group === group && c.name === '');
  if (!spec) {
    if (name === undefined && pre.values.help === true) {
      plain.line(groupHelp(group));
      return EXIT.ok;
    }
    const names = COMMANDS.filter((c) => c.group === group).map((c) => c.name);
    plain.error(`edgectl: ${group}: ${name === undefined ? 'missing command;' : `unknown command "${name}";`} expected one of: ${names.join(', ')}`);
    return EXIT.usage;
  }
  const command = spec.name ? `${spec.group} ${spec.name}` : spec.group;
  const usageError = (message: string, out: Output = plain) => {
    out.error(`edgectl: ${command}: ${message}\nusage: ${usageLine(spec)}\n(edgectl ${command} --help for details)`);
    return EXIT.usage;
  };

  let values: Flags;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: { ...spec.options, ...GLOBAL_OPTIONS }, strict: true, allowPositionals: true }));
  } catch (err) {
    return usageError(parseMessage(err));
  }
  if (values.help === true) {
    plain.line(commandHelp(spec));
    return EXIT.ok;
  }
  const args = positionals.slice(spec.name ? 2 : 1);
  if (args.length < spec.args.length) return usageError(`missing <${spec.args[args.length]}>`);
  if (args.length > spec.args.length) return usageError(`unexpected argument "${args[spec.args.length]}"`);

  const registryUrl = (typeof values.registry === 'string' ? values.registry : io.env.EDGECTL_REGISTRY) || DEFAULT_REGISTRY_URL;
  if (!isValidUrl(registryUrl)) return usageError(`--registry: expected an http:// or https:// URL${typeof values.registry === 'string' ? '' : ' (from EDGECTL_REGISTRY)'}`);
  const token = (typeof values.token === 'string' ? values.token : io.env.EDGECTL_TOKEN) || undefined;
  if (token === undefined) return usageError('--token: missing; pass --token <token> or set EDGECTL_TOKEN');

  const zone = io.env.EDGECTL_TZ || undefined;
  if (zone !== undefined && !isTimeZone(zone)) return usageError(`EDGECTL_TZ: unknown time zone "${zone}"; expected an IANA name such as Asia/Ho_Chi_Minh`);
  const out = new Output(io, values.json === true, [token]);
  const signal = io.signal ?? new AbortController().signal;
  const client = new RegistryClient({ baseUrl: registryUrl, token, signal });
  try {
    return await spec.run({ command, args, flags: values, client, out, registryUrl, signal, now: io.now ?? Date.now, zones: new TimeZones(client, zone) });
  } catch (err) {
    if (signal.aborted) {
      out.error(`edgectl: ${command}: interrupted`);
      return EXIT.interrupted;
    }
    if (err instanceof UsageError) return usageError(err.message, out);
    if (err instanceof RegistryApiError) out.error(`edgectl: ${command}: ${err.message} (${err.code})`);
    else if (err instanceof RegistryClientError || err instanceof CommandFailure) out.error(`edgectl: ${command}: ${err.message}`);
    else out.error(`edgectl: ${command}: unexpected failure: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failed;
  }
}
