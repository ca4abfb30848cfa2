import type { RegistryStore } from '../db/store.js';
import { invalid, notFound, RegistryError } from '../errors.js';
import type { ConfigState } from '../repos/configs-repo.js';
import type { Rollout, RolloutItem, RolloutItemState } from '../repos/rollouts-repo.js';
import { randomId } from '../security/secrets.js';
import type { ConfigService } from './config-service.js';
import { actorLabel, SYSTEM, type CallContext, type ServiceDeps } from './context.js';

export interface RolloutInput {
  /** Exactly one of site and tag. */
  site?: string;
  tag?: string;
  /** Gateways that get the new configuration first; the rest wait until all of them commit. */
  canary: number;
  note?: string;
}

export interface RolloutProgress {
  total: number;
  /** Applied or committed. */
  applied: number;
  committed: number;
  /** Rejected, rolled back, or could not be issued or published. */
  failed: number;
  /** Not yet published, or published without a final report. */
  pending: number;
}

export interface RolloutView extends Rollout {
  progress: RolloutProgress;
  gateways: Array<Pick<RolloutItem, 'gatewayId' | 'phase' | 'version' | 'state' | 'reason'>>;
}

const FAILED: ReadonlySet<RolloutItemState> = new Set(['rejected', 'rolled_back', 'failed']);
const ITEM_RANK: Record<RolloutItemState, number> = { waiting: -1, pending: 0, delivered: 1, applied: 2, committed: 3, rejected: 3, rolled_back: 3, failed: 3 };

export function progressOf(items: readonly RolloutItem[]): RolloutProgress {
  const count = (pred: (s: RolloutItemState) => boolean) => items.filter((i) => pred(i.state)).length;
  const applied = count((s) => s === 'applied' || s === 'committed');
  const failed = count((s) => FAILED.has(s));
  return { total: items.length, applied, committed: count((s) => s === 'committed'), failed, pending: items.length - applied - failed };
}

/**
 * Rollouts of each gateway's composed configuration to a site or tag: the canaries first; if any
 * of them rejects or rolls back, the rollout halts and the rest never get it; once every canary
 * has committed, the rest get it. Progress follows the gateways' config reports.
 */
export class RolloutService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly configs: ConfigService,
  ) {}

  async create(input: RolloutInput, ctx: CallContext): Promise<RolloutView> {
    if ((input.site === undefined) === (input.tag === undefined)) throw invalid('body.site', 'give either site or tag (exactly one)');
    const target = input.site !== undefined ? { kind: 'site' as const, value: input.site } : { kind: 'tag' as const, value: input.tag! };
    const field = `body.${target.kind}`;
    if (target.kind === 'site' && !(await this.store.sites.get(target.value))) throw invalid(field, `no site "${target.value}"`);
    const gateways = await this.store.gateways.list(target.kind === 'site' ? { siteId: target.value } : { tag: target.value });
    if (gateways.length === 0) throw invalid(field, `no gateway has ${target.kind} "${target.value}"`);
    const problems = [];
    for (const gw of gateways) for (const p of await this.configs.check(gw.id, { kind: 'composed' })) problems.push({ path: `${gw.id}: config.${p.path}`, message: p.message });
    if (problems.length > 0) {
      throw new RegistryError('REG_CONFIG_INVALID', `nothing was published: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { field: problems[0]!.path, problems });
    }
    const now = this.deps.clock.now();
    const canarySize = Math.min(input.canary, gateways.length);
    const rollout: Rollout = { id: randomId(), target, canarySize, state: canarySize > 0 ? 'canary' : 'rolling', reason: null, note: input.note ?? null, createdBy: actorLabel(ctx), createdAt: now, updatedAt: now };
    const items: RolloutItem[] = gateways.map((g, i) => ({ rolloutId: rollout.id, gatewayId: g.id, phase: i < canarySize ? 'canary' : 'rest', position: i, version: null, state: 'waiting', reason: null, updatedAt: now }));
    await this.store.transaction(async (tx) => {
      await tx.rollouts.insert(rollout, items);
      await this.deps.auditor.record(tx, ctx, 'rollout.create', { type: 'rollout', id: rollout.id }, { target, canarySize, gateways: gateways.length, note: rollout.note });
    });
    this.deps.logger.info({ rolloutId: rollout.id, target, canarySize, gateways: gateways.length }, 'rollout started');
    await this.publishPhase(rollout, canarySize > 0 ? 'canary' : 'rest', ctx);
    await this.evaluate(rollout.id);
    const view = await this.get(rollout.id);
    this.deps.hub.publish('rollouts', null, view);
    return view;
  }

  async get(id: string): Promise<RolloutView> {
    const r = await this.store.rollouts.get(id);
    if (!r) throw notFound('rollout', id);
    const items = await this.store.rollouts.items(id);
    return { ...r, progress: progressOf(items), gateways: items.map(({ gatewayId, phase, version, state, reason }) => ({ gatewayId, phase, version, state, reason })) };
  }

  async list(limit = 100): Promise<RolloutView[]> {
    return Promise.all((await this.store.rollouts.list(limit)).map((r) => this.get(r.id)));
  }

  /** Follows a config report that ConfigService accepted. */
  async onConfigReport(gatewayId: string, version: number, state: ConfigState, reason: string | null): Promise<void> {
    const item = await this.store.rollouts.itemFor(gatewayId, version);
    if (!item || ITEM_RANK[state] <= ITEM_RANK[item.state]) return;
    await this.store.rollouts.setItem(item.rolloutId, gatewayId, { state, reason, now: this.deps.clock.now() });
    await this.evaluate(item.rolloutId);
    await this.publish(item.rolloutId);
  }

  /** The rollout (progress, state, halt reason) to the event streams. */
  private async publish(id: string): Promise<void> {
    if (this.deps.hub.wants('rollouts')) this.deps.hub.publish('rollouts', null, await this.get(id));
  }

  private async publishPhase(rollout: Rollout, phase: 'canary' | 'rest', ctx: CallContext): Promise<void> {
    const items = (await this.store.rollouts.items(rollout.id)).filter((i) => i.phase === phase && i.state === 'waiting');
    for (const item of items) {
      try {
        const v = await this.configs.issue(item.gatewayId, { kind: 'composed' }, ctx, { rolloutId: rollout.id, ...(rollout.note !== null && { note: rollout.note }) });
        await this.store.rollouts.setItem(rollout.id, item.gatewayId, { state: 'pending', reason: null, version: v.version, now: this.deps.clock.now() });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.deps.logger.warn({ rolloutId: rollout.id, gatewayId: item.gatewayId, reason }, 'rollout could not issue a configuration');
        await this.store.rollouts.setItem(rollout.id, item.gatewayId, { state: 'failed', reason, now: this.deps.clock.now() });
      }
    }
  }

  /** Moves a rollout on from its items' states; each transition happens once (conditional update). */
  private async evaluate(id: string): Promise<void> {
    const rollout = await this.store.rollouts.get(id);
    if (!rollout) return;
    const items = await this.store.rollouts.items(id);
    const now = this.deps.clock.now();
    if (rollout.state === 'canary') {
      const canaries = items.filter((i) => i.phase === 'canary');
      const bad = canaries.find((i) => FAILED.has(i.state));
      if (bad) {
        const reason = `canary ${bad.gatewayId} ${bad.state.replace('_', ' ')}${bad.reason ? `: ${bad.reason}` : ''}`;
        if (await this.store.rollouts.transition(id, 'canary', 'halted', reason, now)) {
          await this.audit(id, 'rollout.halt', { reason });
          this.deps.logger.warn({ rolloutId: id, reason }, 'rollout halted');
        }
        return;
      }
      if (canaries.every((i) => i.state === 'committed') && (await this.store.rollouts.transition(id, 'canary', 'rolling', null, now))) {
        await this.audit(id, 'rollout.proceed', { canaries: canaries.length });
        await this.publishPhase(rollout, 'rest', SYSTEM);
        return this.evaluate(id);
      }
      return;
    }
    if (rollout.state === 'rolling' && items.every((i) => i.state === 'committed' || FAILED.has(i.state))) {
      const failed = items.filter((i) => FAILED.has(i.state)).length;
      const reason = failed > 0 ? `${failed} of ${items.length} gateway(s) did not take the configuration` : null;
      if (await this.store.rollouts.transition(id, 'rolling', 'completed', reason, now)) {
        await this.audit(id, 'rollout.complete', { failed, total: items.length });
        this.deps.logger.info({ rolloutId: id, failed, total: items.length }, 'rollout completed');
      }
    }
  }

  private audit(id: string, action: string, details: Record<string, unknown>): Promise<void> {
    return this.deps.auditor.record(this.store, SYSTEM, action, { type: 'rollout', id }, details);
  }
}

