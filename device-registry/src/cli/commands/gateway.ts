import qrcode from 'qrcode-terminal';
import { enrollmentLink } from '@cityedge/contract';
import { defined, int, list, oneOf, positive, str, UsageError, type CommandContext, type CommandSpec } from '../command.js';
import { orDash, relative } from '../output.js';
import { formatTime } from '../time-zones.js';
import { problemLines, problemSummary } from '../problems-text.js';
import type { EnrollmentCodeView, GatewayView } from '../registry-client.js';
import { EXIT, poll } from '../watch.js';

const enrollmentOptions = { 'code-ttl': { type: 'string' }, 'public-url': { type: 'string' }, 'no-qr': { type: 'boolean' } } as const;
const enrollmentHelp = [
  '--code-ttl <s>       lifetime of the enrollment code in seconds (default 24 h)',
  '--public-url <url>   the registry URL as the gateway reaches it, for the printed command (default: --registry)',
  '--no-qr              do not draw the code as a QR code',
];

/** The registry URL given to the agent: --public-url, else the one edgectl uses. */
function enrollUrl(ctx: CommandContext): string {
  const u = str(ctx.flags, 'public-url') ?? ctx.registryUrl;
  if (!/^https?:\/\/\S+$/.test(u)) throw new UsageError('--public-url: expected an http:// or https:// URL');
  return u.replace(/\/+$/, '');
}

/** What a technician runs on the gateway (installed by deploy/install-agent.sh, as the agent's user). */
export function enrollCommand(registryUrl: string, code: string): string {
  return `sudo -u cityedge cityedge-agent enroll --registry ${registryUrl} --code ${code}`;
}

/** The one-time code, its expiry, the command to run on the gateway and the code as a QR block. */
function printEnrollment(ctx: CommandContext, gatewayId: string, e: EnrollmentCodeView, url: string, zone: string): void {
  const { out } = ctx;
  out.line(`enrollment code for ${gatewayId} (single use; expires ${formatTime(e.expiresAt, zone)}, ${relative(e.expiresAt, ctx.now())}):`);
  out.line();
  out.line(`  ${e.code}`);
  out.line();
  out.line('on the gateway, run:');
  out.line();
  out.line(`  ${enrollCommand(url, e.code)}`);
  out.line('  sudo systemctl restart cityedge-agent');
  out.line();
  out.line(`or give the agent the enrollment link (the QR code below carries it): cityedge-agent enroll '${enrollmentLink(url, e.code)}'`);
  if (ctx.flags['no-qr'] === true) return;
  out.line();
  qrcode.generate(enrollmentLink(url, e.code), { small: true }, (block) => out.line(block));
}

/** `2025-06-02 17:00:00 +07:00 (42 s ago)`, or `never`. */
function lastSeen(ms: number | null, now: number, zone: string): string {
  return ms === null ? 'never' : `${formatTime(ms, zone)} (${relative(ms, now)})`;
}

function statusText(g: GatewayView, now: number, zone: string): string {
  const s = g.status;
  if (s.state === 'unknown') return g.enrolled ? 'unknown (no status yet)' : 'not enrolled';
  return `${s.state} since ${formatTime(s.since, zone)}`;
}

function newestConfig(g: GatewayView, zone: string): string {
  if (!g.config) return 'none issued';
  return `v${g.config.latestVersion} ${g.config.state} (${formatTime(g.config.stateAt, zone)})${g.config.reason ? `: ${g.config.reason}` : ''}`;
}

function showGateway(ctx: CommandContext, g: GatewayView, zone: string): void {
  const s = g.status;
  const now = ctx.now();
  const p = s.problems;
  ctx.out.fields([
    ['gateway', g.id],
    ['name', orDash(g.name)],
    ['site', orDash(g.siteId)],
    ['tags', g.tags.length > 0 ? g.tags.join(', ') : '-'],
    ['enrolled', g.enrolled ? `yes, ${formatTime(g.enrolledAt, zone)}${g.hostname ? ` (host ${g.hostname})` : ''}` : 'no'],
    ['status', statusText(g, now, zone)],
    ['last seen', lastSeen(s.lastSeen, now, zone)],
    ['agent version', orDash(s.agentVersion)],
    ['running config', s.configVersionRunning === null ? '-' : `v${s.configVersionRunning}`],
    ['backlog', orDash(s.backlog)],
    ['devices failing', orDash(s.devicesFailing)],
    ['newest config', newestConfig(g, zone)],
    ...(p ? [['problems', `${p.lines.length + p.devices.length === 0 ? 'none' : problemSummary(p)} (running v${p.version}, reported ${formatTime(p.at, zone)})`] as const] : []),
    ['times in', zone],
  ]);
  // The line and device problems the gateway reports for the version it runs, one line each.
  if (p) for (const l of problemLines(p)) ctx.out.line(`  ${l}`);
}

/** One line per observed change (gateway watch). */
function watchLine(g: GatewayView, now: number, zone: string): string {
  const s = g.status;
  const cfg = g.config ? `v${g.config.latestVersion} ${g.config.state}` : 'none';
  return `${formatTime(now, zone)}  ${g.id} ${s.state}  agent ${orDash(s.agentVersion)}  running v${orDash(s.configVersionRunning)}  newest ${cfg}  backlog ${orDash(s.backlog)}  devices failing ${orDash(s.devicesFailing)}`;
}

const fingerprint = (g: GatewayView) =>
  JSON.stringify([g.enrolled, g.status.state, g.status.since, g.status.agentVersion, g.status.configVersionRunning, g.status.backlog, g.status.devicesFailing, g.config?.latestVersion, g.config?.state, g.status.problems && problemLines(g.status.problems)]);

export const gatewayCommands: CommandSpec[] = [
  {
    group: 'gateway',
    name: 'create',
    args: ['id'],
    synopsis: '[--site <site>] [--name <name>] [--tag <tag>]... [--code-ttl <s>] [--public-url <url>] [--no-qr]',
    summary: 'create a gateway; prints its one-time enrollment code, the enroll command and a QR code',
    help: ['--site <site>        the site it belongs to', '--name <name>        what people call it', '--tag <tag>          a tag for rollouts (repeatable)', ...enrollmentHelp],
    options: { site: { type: 'string' }, name: { type: 'string' }, tag: { type: 'string', multiple: true }, ...enrollmentOptions },
    async run(ctx) {
      const { args, flags, client, out } = ctx;
      const url = enrollUrl(ctx);
      const tags = list(flags, 'tag');
      const r = await client.createGateway({ id: args[0]!, ...defined({ siteId: str(flags, 'site'), name: str(flags, 'name'), codeTtlSeconds: int(flags, 'code-ttl') }), ...(tags.length > 0 && { tags }) });
      if (out.json) {
        out.data({ ...r, enrollCommand: enrollCommand(url, r.enrollment.code), enrollLink: enrollmentLink(url, r.enrollment.code) });
        return 0;
      }
      const g = r.gateway;
      const about = [g.siteId ? `site ${g.siteId}` : '', g.tags.length > 0 ? `tags ${g.tags.join(', ')}` : ''].filter(Boolean).join('; ');
      out.line(`gateway ${g.id} created${about ? ` (${about})` : ''}`);
      out.line();
      printEnrollment(ctx, g.id, r.enrollment, url, await ctx.zones.forGateway(g));
      return 0;
    },
  },
  {
    group: 'gateway',
    name: 'code',
    args: ['id'],
    synopsis: '[--code-ttl <s>] [--public-url <url>] [--no-qr]',
    summary: 'issue a new enrollment code (replaces unused ones; also to re-enroll a replaced box)',
    help: enrollmentHelp,
    options: enrollmentOptions,
    async run(ctx) {
      const url = enrollUrl(ctx);
      const e = await ctx.client.issueEnrollmentCode(ctx.args[0]!, int(ctx.flags, 'code-ttl'));
      if (ctx.out.json) ctx.out.data({ gatewayId: ctx.args[0], enrollment: e, enrollCommand: enrollCommand(url, e.code), enrollLink: enrollmentLink(url, e.code) });
      else printEnrollment(ctx, ctx.args[0]!, e, url, await ctx.zones.forGateway(ctx.args[0]!));
      return 0;
    },
  },
  {
    group: 'gateway',
    name: 'list',
    args: [],
    synopsis: '[--site <site>] [--tag <tag>]',
    summary: 'list gateways with their status',
    options: { site: { type: 'string' }, tag: { type: 'string' } },
    async run({ flags, client, out, now, zones }) {
      const gws = await client.listGateways(defined({ site: str(flags, 'site'), tag: str(flags, 'tag') }));
      if (out.json) out.data(gws);
      else if (gws.length === 0) out.line('no gateways');
      else {
        const t = now();
        const zone = await Promise.all(gws.map((g) => zones.forGateway(g)));
        out.table(
          ['GATEWAY', 'SITE', 'STATUS', 'LAST SEEN', 'AGENT', 'RUNNING', 'NEWEST CONFIG', 'BACKLOG', 'FAILING', 'TAGS'],
          gws.map((g, i) => [
            g.id,
            orDash(g.siteId),
            g.enrolled ? g.status.state : 'not enrolled',
            g.status.lastSeen === null ? '-' : lastSeen(g.status.lastSeen, t, zone[i]!),
            orDash(g.status.agentVersion),
            g.status.configVersionRunning === null ? '-' : `v${g.status.configVersionRunning}`,
            g.config ? `v${g.config.latestVersion} ${g.config.state}` : '-',
            orDash(g.status.backlog),
            orDash(g.status.devicesFailing),
            g.tags.join(','),
          ]),
        );
      }
      return 0;
    },
  },
  {
    group: 'gateway',
    name: 'show',
    args: ['id'],
    summary: 'status (online/offline, last seen, agent and running config version, backlog, devices failing), the newest config and the line and device problems the gateway reports',
    options: {},
    async run(ctx) {
      const g = await ctx.client.getGateway(ctx.args[0]!);
      if (ctx.out.json) ctx.out.data(g);
      else showGateway(ctx, g, await ctx.zones.forGateway(g));
      return 0;
    },
  },
  {
    group: 'gateway',
    name: 'watch',
    args: ['id'],
    synopsis: '[--until online|offline] [--timeout <s>] [--interval <ms>]',
    summary: "print the gateway's status whenever it changes",
    help: [
      '--until <state>   stop with exit 0 once the gateway is online (or offline); exit 3 if the time runs out',
      '--timeout <s>     stop after this long (default: with --until 300 s, else until Ctrl-C)',
      '--interval <ms>   poll interval (default 2000)',
    ],
    options: { until: { type: 'string' }, timeout: { type: 'string' }, interval: { type: 'string' } },
    async run(ctx) {
      const { flags, out } = ctx;
      const until = oneOf(flags, 'until', ['online', 'offline'] as const);
      const timeoutS = flags.timeout !== undefined || until ? positive(flags, 'timeout', 300) : undefined;
      let last: string | undefined;
      const zone = await ctx.zones.forGateway(ctx.args[0]!);
      return poll({
        ctx,
        intervalMs: positive(flags, 'interval', 2000),
        timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
        read: () => ctx.client.getGateway(ctx.args[0]!),
        step: (g) => {
          const fp = fingerprint(g);
          if (fp !== last) {
            last = fp;
            if (out.json) out.event({ at: ctx.now(), gateway: g });
            else out.line(watchLine(g, ctx.now(), zone));
          }
          return until !== undefined && g.status.state === until ? EXIT.ok : undefined;
        },
        onTimeout: () => {
          if (until === undefined) return EXIT.ok;
          out.error(`edgectl: gateway watch: ${ctx.args[0]} was not ${until} within ${timeoutS} s`);
          return EXIT.timeout;
        },
      });
    },
  },
];
