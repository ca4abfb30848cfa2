import { bool, int, positive, str, UsageError, type CommandContext, type CommandSpec } from '../command.js';
import { orDash } from '../output.js';
import { formatTime, type TimeZones } from '../time-zones.js';
import type { RolloutView } from '../registry-client.js';
import { EXIT, poll } from '../watch.js';

const watchOptions = { timeout: { type: 'string' }, interval: { type: 'string' } } as const;
const watchHelp = ['--timeout <s>     give up after this long with exit 3 (default 1800)', '--interval <ms>   poll interval (default 2000)'];

function progressLine(r: RolloutView): string {
  const p = r.progress;
  return `${r.state}  total ${p.total}  applied ${p.applied}  committed ${p.committed}  failed ${p.failed}  pending ${p.pending}${r.reason ? `  (${r.reason})` : ''}`;
}

const target = (r: RolloutView) => `${r.target.kind} ${r.target.value}`;
/** A rollout to a site is shown in the site's zone; one by tag (possibly across sites) in the fallback. */
const zoneOf = (zones: TimeZones, r: Pick<RolloutView, 'target'>) => (r.target.kind === 'site' ? zones.forSite(r.target.value) : Promise.resolve(zones.fallback));
const itemLine = (g: RolloutView['gateways'][number]) => `${g.gatewayId} (${g.phase}) ${g.version === null ? '' : `v${g.version} `}${g.state}${g.reason ? `: ${g.reason}` : ''}`;

/** Follows a rollout until it completes (0), halts (1) or time runs out (3). */
async function watchRollout(ctx: CommandContext, id: string): Promise<number> {
  const { out, flags } = ctx;
  const timeoutS = positive(flags, 'timeout', 1800);
  let lastProgress: string | undefined;
  const lastItem = new Map<string, string>();
  let state = 'unknown';
  let zone: string | undefined;
  return poll({
    ctx,
    intervalMs: positive(flags, 'interval', 2000),
    timeoutMs: timeoutS * 1000,
    read: async () => {
      const r = await ctx.client.getRollout(id);
      zone ??= await zoneOf(ctx.zones, r);
      return r;
    },
    step: (r) => {
      state = r.state;
      const at = formatTime(ctx.now(), zone);
      for (const g of r.gateways) {
        const line = itemLine(g);
        if (lastItem.get(g.gatewayId) === line) continue;
        lastItem.set(g.gatewayId, line);
        if (out.json) out.event({ at: ctx.now(), rolloutId: id, gateway: g });
        else out.line(`${at}    ${line}`);
      }
      const progress = progressLine(r);
      if (progress !== lastProgress) {
        lastProgress = progress;
        if (out.json) out.event({ at: ctx.now(), rolloutId: id, state: r.state, reason: r.reason, progress: r.progress });
        else out.line(`${at}  ${id} ${progress}`);
      }
      if (r.state === 'completed') return r.progress.failed > 0 ? EXIT.failed : EXIT.ok;
      if (r.state === 'halted') {
        out.error(`edgectl: rollout watch: rollout ${id} halted${r.reason ? `: ${r.reason}` : ''}`);
        return EXIT.failed;
      }
      return undefined;
    },
    onTimeout: () => {
      out.error(`edgectl: rollout watch: rollout ${id} still ${state} after ${timeoutS} s`);
      return EXIT.timeout;
    },
  });
}

export const rolloutCommands: CommandSpec[] = [
  {
    group: 'rollout',
    name: 'start',
    args: [],
    synopsis: '(--site <site> | --tag <tag>) [--canary <n>] [--note <text>] [--watch [--timeout <s>] [--interval <ms>]]',
    summary: "roll each gateway's composed configuration out to a site or tag, canaries first",
    help: [
      '--site <site>     every gateway of this site',
      '--tag <tag>       every gateway with this tag',
      '--canary <n>      gateways that get it first; one rejecting or rolling back halts the rollout (default 1; 0: all at once)',
      '--note <text>     why, for the history and the audit log',
      '--watch           then follow it like `rollout watch`',
      ...watchHelp,
    ],
    options: { site: { type: 'string' }, tag: { type: 'string' }, canary: { type: 'string' }, note: { type: 'string' }, watch: { type: 'boolean' }, ...watchOptions },
    async run(ctx) {
      const { flags, client, out } = ctx;
      const site = str(flags, 'site');
      const tag = str(flags, 'tag');
      if ((site === undefined) === (tag === undefined)) throw new UsageError(site === undefined ? '--site: missing; give --site <site> or --tag <tag>' : '--tag: give --site or --tag, not both');
      const note = str(flags, 'note');
      const r = await client.startRollout({ ...(site !== undefined ? { site } : { tag: tag! }), canary: int(flags, 'canary') ?? 1, ...(note !== undefined && { note }) });
      const watch = bool(flags, 'watch');
      if (out.json) {
        if (watch) out.event(r);
        else out.data(r);
      } else {
        out.line(`rollout ${r.id} started for ${target(r)}: ${r.progress.total} gateway(s), ${r.canarySize} canary`);
        out.line(`  ${progressLine(r)}`);
        if (!watch) out.line(`follow it with: edgectl rollout watch ${r.id}`);
      }
      return watch ? watchRollout(ctx, r.id) : EXIT.ok;
    },
  },
  {
    group: 'rollout',
    name: 'list',
    args: [],
    summary: 'rollouts, newest first, with progress',
    options: {},
    async run({ client, out, zones }) {
      const rs = await client.listRollouts();
      if (out.json) out.data(rs);
      else if (rs.length === 0) out.line('no rollouts yet');
      else {
        const zone = await Promise.all(rs.map((r) => zoneOf(zones, r)));
        out.table(
          ['ROLLOUT', 'TARGET', 'STATE', 'TOTAL', 'APPLIED', 'COMMITTED', 'FAILED', 'PENDING', 'STARTED', 'BY'],
          rs.map((r, i) => [r.id, target(r), r.state, ...[r.progress.total, r.progress.applied, r.progress.committed, r.progress.failed, r.progress.pending].map(String), formatTime(r.createdAt, zone[i]), r.createdBy]),
        );
      }
      return 0;
    },
  },
  {
    group: 'rollout',
    name: 'show',
    args: ['id'],
    summary: 'a rollout with the state of each gateway',
    options: {},
    async run({ args, client, out, zones }) {
      const r = await client.getRollout(args[0]!);
      if (out.json) out.data(r);
      else {
        out.fields([
          ['rollout', r.id],
          ['target', target(r)],
          ['canaries', String(r.canarySize)],
          ['state', `${r.state}${r.reason ? ` (${r.reason})` : ''}`],
          ['progress', progressLine(r)],
          ['started', `${formatTime(r.createdAt, await zoneOf(zones, r))} by ${r.createdBy}`],
          ['note', orDash(r.note)],
        ]);
        out.line();
        out.table(['GATEWAY', 'PHASE', 'VERSION', 'STATE', 'REASON'], r.gateways.map((g) => [g.gatewayId, g.phase, g.version === null ? '-' : `v${g.version}`, g.state, orDash(g.reason)]));
      }
      return 0;
    },
  },
  {
    group: 'rollout',
    name: 'watch',
    args: ['id'],
    synopsis: '[--timeout <s>] [--interval <ms>]',
    summary: 'follow a rollout until it completes (exit 0), halts or ends with failures (1), or time runs out (3)',
    help: watchHelp,
    options: watchOptions,
    run: (ctx) => watchRollout(ctx, ctx.args[0]!),
  },
];
