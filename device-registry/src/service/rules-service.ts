import type { Repos, RegistryStore } from '../db/store.js';
import { notFound } from '../errors.js';
import type { Gateway } from '../repos/gateways-repo.js';
import type { RulesRecord } from '../repos/rules-repo.js';
import { refuseProblems, type ConfigComposer } from './config-composer.js';
import type { CallContext, ServiceDeps } from './context.js';

/**
 * A gateway's rules (the configuration's `rules` section: flood stations, air-quality stations,
 * lighting groups, derived readings): one record per gateway, composed into its configuration
 * like its lines and devices, so rules are delivered, versioned and rolled back over the air
 * with them. A record is accepted only when the gateway's document with it is one the agent
 * accepts: the rules' schema and every device and point they name.
 */
export class RulesService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly composer: ConfigComposer,
  ) {}

  async get(gatewayId: string): Promise<RulesRecord> {
    await this.gateway(this.store, gatewayId);
    const r = await this.store.rules.get(gatewayId);
    if (!r) throw notFound('rules of gateway', gatewayId);
    return r;
  }

  async put(gatewayId: string, rules: Record<string, unknown>, ctx: CallContext): Promise<{ record: RulesRecord; created: boolean }> {
    return this.store.transaction(async (tx) => {
      const gw = await this.gateway(tx, gatewayId);
      const document = this.composer.compose(gw, await tx.inventory.listLines(gatewayId), await tx.inventory.listDevices(gatewayId), rules);
      refuseProblems(this.composer.validate(document), 'rules');
      const prev = await tx.rules.get(gatewayId);
      const now = this.deps.clock.now();
      const record: RulesRecord = { gatewayId, rules, createdAt: prev?.createdAt ?? now, updatedAt: now, updatedBy: ctx.actor.kind === 'token' ? ctx.actor.name : ctx.actor.kind };
      await tx.rules.upsert(record);
      await this.deps.auditor.record(tx, ctx, prev ? 'rules.update' : 'rules.create', { type: 'gateway', id: gatewayId }, { counts: counts(rules) });
      return { record, created: !prev };
    });
  }

  async clear(gatewayId: string, ctx: CallContext): Promise<void> {
    await this.store.transaction(async (tx) => {
      await this.gateway(tx, gatewayId);
      if (!(await tx.rules.delete(gatewayId))) throw notFound('rules of gateway', gatewayId);
      await this.deps.auditor.record(tx, ctx, 'rules.delete', { type: 'gateway', id: gatewayId });
    });
  }

  private async gateway(repos: Repos, id: string): Promise<Gateway> {
    const gw = await repos.gateways.get(id);
    if (!gw) throw notFound('gateway', id);
    return gw;
  }
}

/** How many rules of each kind a record has, e.g. { flood: 1, aqi: 0, lighting: 2, derived: 0 }. */
export function counts(rules: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(['flood', 'aqi', 'lighting', 'derived'].map((k) => [k, Array.isArray(rules[k]) ? (rules[k] as unknown[]).length : 0]));
}
