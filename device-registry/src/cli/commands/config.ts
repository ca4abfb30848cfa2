import { bool, CommandFailure, int, positive, str, UsageError, type CommandContext, type CommandSpec } from '../command.js';
import { orDash } from '../output.js';
import { formatTime } from '../time-zones.js';
import { problemCount, problemLines, problemSummary } from '../problems-text.js';
import type { ConfigVersionSummary, GatewayView } from '../registry-client.js';
import { EXIT, poll } from '../watch.js';

const FINAL_OK = new Set(['committed']);
const FINAL_BAD = new Set(['rejected', 'rolled_back']);

const watchOptions = { timeout: { type: 'string' }, interval: { type: 'string' } } as const;
const watchHelp = [
  '--timeout <s>     give up after this long with exit 3 (default 300)',
  '--interval <ms>   poll interval (default 2000)',
  'exit 0 committed; 4 committed, but lines or devices have problems (listed); 1 rejected or rolled back; 3 time ran out',
];

function versionArg(value: string, name: string): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new UsageError(`<${name}>: expected a version number (1, 2, ...), got "${value}"`);
  return Number(value);
}

function describe(c: ConfigVersionSummary): string {
  return `v${c.version} ${c.state}${c.reason ? `: ${c.reason}` : ''}`;
}

/** The problems the gateway reports while running `version`, when it runs it. */
function problemsOf(g: GatewayView, version: number) {
  const p = g.status.problems;
  return p && p.version === version ? p : undefined;
}

/**
 * Follows one version until the gateway commits (0, or 4 when it reports lines or devices with
 * problems), rejects or rolls it back (1), or the time runs out (3), printing each state it is
 * seen in and the problems the gateway reports while running it.
 */
async function watchVersion(ctx: CommandContext, gatewayId: string, version: number): Promise<number> {
  const { out, flags } = ctx;
  const timeoutS = positive(flags, 'timeout', 300);
  let last: string | undefined;
  let lastProblems: string | undefined;
  let state = 'unknown';
  const zone = await ctx.zones.forGateway(gatewayId);
  return poll({
    ctx,
    intervalMs: positive(flags, 'interval', 2000),
    timeoutMs: timeoutS * 1000,
    read: async () => {
      const c = await ctx.client.getConfig(gatewayId, version);
      // Problems come with the gateway's reports (stored in the same transaction as the state).
      return { c, problems: c.state === 'applied' || c.state === 'committed' ? problemsOf(await ctx.client.getGateway(gatewayId), version) : undefined };
    },
    step: ({ c, problems }) => {
      state = c.state;
      if (c.state !== last) {
        last = c.state;
        if (out.json) out.event({ at: ctx.now(), gatewayId, version, state: c.state, reason: c.reason });
        else out.line(`${formatTime(ctx.now(), zone)}  ${gatewayId} ${describe(c)}`);
      }
      const shown = problems ? JSON.stringify(problemLines(problems)) : undefined;
      if (problems && shown !== lastProblems) {
        lastProblems = shown;
        if (out.json) out.event({ at: ctx.now(), gatewayId, version, problems });
        else if (problemLines(problems).length === 0) out.line(`${formatTime(ctx.now())}  ${gatewayId} v${version}: no line or device problems`);
        else for (const l of problemLines(problems)) out.line(`${formatTime(ctx.now())}  ${gatewayId} v${version}: ${l}`);
      }
      if (FINAL_OK.has(c.state)) {
        if (problems && (problemCount(problems).lines > 0 || problemCount(problems).devices > 0)) {
          out.error(`edgectl: config watch: ${gatewayId} v${version} committed, but ${problemSummary(problems)} have problems (edgectl gateway show ${gatewayId})`);
          return EXIT.problems;
        }
        return EXIT.ok;
      }
      if (FINAL_BAD.has(c.state)) {
        out.error(`edgectl: config watch: ${gatewayId} ${describe(c)}`);
        return EXIT.failed;
      }
      return undefined;
    },
    onTimeout: () => {
      out.error(`edgectl: config watch: ${gatewayId} v${version} still ${state} after ${timeoutS} s`);
      return EXIT.timeout;
    },
  });
}

export const configCommands: CommandSpec[] = [
  {
    group: 'config',
    name: 'push',
    args: ['gateway'],
    synopsis: '[--note <text>] [--watch [--timeout <s>] [--interval <ms>]]',
    summary: "compose the gateway's configuration from its records, sign and publish it as the next version",
    help: ['--note <text>     why, for the history and the audit log', '--watch           then follow it like `config watch`', ...watchHelp],
    options: { note: { type: 'string' }, watch: { type: 'boolean' }, ...watchOptions },
    async run(ctx) {
      const gw = ctx.args[0]!;
      const watch = bool(ctx.flags, 'watch');
      const c = await ctx.client.pushConfig(gw, str(ctx.flags, 'note'));
      if (ctx.out.json) {
        // With --watch the output is a stream: one JSON object per line.
        if (watch) ctx.out.event(c);
        else ctx.out.data(c);
      } else {
        ctx.out.line(`${gw}: configuration version ${c.version} issued (${c.state})${watch ? '' : `; follow it with: edgectl config watch ${gw} --version ${c.version}`}`);
        if (c.delivery.gateway !== 'online') ctx.out.line(`${gw}: ${c.delivery.message}`);
      }
      return watch ? watchVersion(ctx, gw, c.version) : EXIT.ok;
    },
  },
  {
    group: 'config',
    name: 'preview',
    args: ['gateway'],
    summary: "the document the gateway's records give now, with its problems (exit 1 if any); nothing is issued",
    options: {},
    async run({ args, client, out }) {
      const p = await client.previewConfig(args[0]!);
      if (out.json) out.data(p);
      else {
        out.data(p.document);
        for (const pr of p.problems) out.error(`edgectl: config preview: ${pr.path}: ${pr.message}`);
      }
      return p.problems.length > 0 ? EXIT.failed : EXIT.ok;
    },
  },
  {
    group: 'config',
    name: 'history',
    args: ['gateway'],
    summary: 'configuration versions, newest first, with what the gateway said about each',
    options: {},
    async run({ args, client, out, zones }) {
      const versions = await client.listConfigs(args[0]!);
      const zone = out.json ? undefined : await zones.forGateway(args[0]!);
      if (out.json) out.data(versions);
      else if (versions.length === 0) out.line(`no configuration versions for ${args[0]} yet; push one with: edgectl config push ${args[0]}`);
      else
        out.table(
          ['VERSION', 'SOURCE', 'STATE', 'SINCE', 'ISSUED', 'BY', 'NOTE / REASON'],
          versions.map((c) => [
            `v${c.version}`,
            c.source === 'rollback' && c.basedOn !== null ? `rollback of v${c.basedOn}` : c.source,
            c.state,
            formatTime(c.stateAt, zone),
            formatTime(c.createdAt, zone),
            c.createdBy,
            [c.note, c.reason].filter(Boolean).join(' / ') || '-',
          ]),
        );
      return 0;
    },
  },
  {
    group: 'config',
    name: 'rollback',
    args: ['gateway', 'version'],
    synopsis: '[--note <text>]',
    summary: "re-issue an earlier version's document as a new, higher version",
    options: { note: { type: 'string' } },
    async run({ args, flags, client, out }) {
      const from = versionArg(args[1]!, 'version');
      const c = await client.rollbackConfig(args[0]!, from, str(flags, 'note'));
      if (out.json) out.data(c);
      else {
        out.line(`${args[0]}: version ${c.version} issued with the document of v${orDash(c.basedOn)} (${c.state}); follow it with: edgectl config watch ${args[0]} --version ${c.version}`);
        if (c.delivery.gateway !== 'online') out.line(`${args[0]}: ${c.delivery.message}`);
      }
      return 0;
    },
  },
  {
    group: 'config',
    name: 'watch',
    args: ['gateway'],
    synopsis: '[--version <n>] [--timeout <s>] [--interval <ms>]',
    summary: 'follow a configuration version until the gateway commits (exit 0; 4 with line or device problems), rejects or rolls it back (1), or time runs out (3)',
    help: ['--version <n>     the version to follow (default: the newest)', ...watchHelp],
    options: { version: { type: 'string' }, ...watchOptions },
    async run(ctx) {
      const gw = ctx.args[0]!;
      const given = int(ctx.flags, 'version');
      if (given !== undefined && given < 1) throw new UsageError(`--version: expected a version number (1, 2, ...), got "${given}"`);
      let version = given;
      if (version === undefined) {
        const newest = (await ctx.client.listConfigs(gw))[0];
        if (!newest) throw new CommandFailure(`gateway ${gw} has no configuration versions yet; push one with: edgectl config push ${gw}`);
        version = newest.version;
      }
      return watchVersion(ctx, gw, version);
    },
  },
];
