import type { Kysely, Selectable } from 'kysely';
import type { RegistryTables, RolloutGatewaysTable, RolloutsTable } from '../db/schema.js';
import { affected } from './json.js';

export type RolloutState = 'canary' | 'rolling' | 'halted' | 'completed';
export type RolloutItemState = 'waiting' | 'pending' | 'delivered' | 'applied' | 'committed' | 'rejected' | 'rolled_back' | 'failed';

export interface Rollout {
  id: string;
  target: { kind: 'site' | 'tag'; value: string };
  canarySize: number;
  state: RolloutState;
  reason: string | null;
  note: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface RolloutItem {
  rolloutId: string;
  gatewayId: string;
  phase: 'canary' | 'rest';
  position: number;
  version: number | null;
  state: RolloutItemState;
  reason: string | null;
  updatedAt: number;
}

const toRollout = (r: Selectable<RolloutsTable>): Rollout => ({
  id: r.id,
  target: { kind: r.target_kind as 'site' | 'tag', value: r.target },
  canarySize: r.canary_size,
  state: r.state as RolloutState,
  reason: r.reason,
  note: r.note,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toItem = (r: Selectable<RolloutGatewaysTable>): RolloutItem => ({
  rolloutId: r.rollout_id,
  gatewayId: r.gateway_id,
  phase: r.phase as 'canary' | 'rest',
  position: r.position,
  version: r.version === null ? null : Number(r.version),
  state: r.state as RolloutItemState,
  reason: r.reason,
  updatedAt: r.updated_at,
});

export class RolloutsRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  async insert(r: Rollout, items: RolloutItem[]): Promise<void> {
    await this.db
      .insertInto('rollouts')
      .values({ id: r.id, target_kind: r.target.kind, target: r.target.value, canary_size: r.canarySize, state: r.state, reason: r.reason, note: r.note, created_by: r.createdBy, created_at: r.createdAt, updated_at: r.updatedAt })
      .execute();
    if (items.length === 0) return;
    await this.db
      .insertInto('rollout_gateways')
      .values(items.map((i) => ({ rollout_id: i.rolloutId, gateway_id: i.gatewayId, phase: i.phase, position: i.position, version: i.version, state: i.state, reason: i.reason, updated_at: i.updatedAt })))
      .execute();
  }

  async get(id: string): Promise<Rollout | undefined> {
    const r = await this.db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRollout(r);
  }

  async list(limit = 100): Promise<Rollout[]> {
    return (await this.db.selectFrom('rollouts').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).execute()).map(toRollout);
  }

  async items(id: string): Promise<RolloutItem[]> {
    return (await this.db.selectFrom('rollout_gateways').selectAll().where('rollout_id', '=', id).orderBy('position').execute()).map(toItem);
  }

  async itemFor(gatewayId: string, version: number): Promise<RolloutItem | undefined> {
    const r = await this.db.selectFrom('rollout_gateways').selectAll().where('gateway_id', '=', gatewayId).where('version', '=', version).executeTakeFirst();
    return r && toItem(r);
  }

  async setItem(rolloutId: string, gatewayId: string, s: { state: RolloutItemState; reason: string | null; version?: number; now: number }): Promise<void> {
    await this.db
      .updateTable('rollout_gateways')
      .set({ state: s.state, reason: s.reason, updated_at: s.now, ...(s.version !== undefined && { version: s.version }) })
      .where('rollout_id', '=', rolloutId)
      .where('gateway_id', '=', gatewayId)
      .execute();
  }

  /** Moves a rollout from one state to another; false if it was no longer in `from` (another caller won). */
  async transition(id: string, from: RolloutState, to: RolloutState, reason: string | null, now: number): Promise<boolean> {
    const r = await this.db.updateTable('rollouts').set({ state: to, reason, updated_at: now }).where('id', '=', id).where('state', '=', from).executeTakeFirst();
    return affected(r) === 1;
  }
}
