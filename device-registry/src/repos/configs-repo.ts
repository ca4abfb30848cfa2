import type { Kysely, Selectable } from 'kysely';
import type { SignedConfig } from '@cityedge/contract';
import type { ConfigVersionsTable, RegistryTables } from '../db/schema.js';
import { affected, parseJson } from './json.js';

export type ConfigState = 'pending' | 'delivered' | 'applied' | 'committed' | 'rejected' | 'rolled_back';
export type ConfigSource = 'composed' | 'document' | 'rollback';

export interface ConfigVersionSummary {
  gatewayId: string;
  version: number;
  source: ConfigSource;
  basedOn: number | null;
  rolloutId: string | null;
  note: string | null;
  createdBy: string;
  createdAt: number;
  state: ConfigState;
  reason: string | null;
  stateAt: number;
}

export interface ConfigVersion extends ConfigVersionSummary {
  document: Record<string, unknown>;
  signed: SignedConfig;
}

const summaryOf = (r: Omit<Selectable<ConfigVersionsTable>, 'document' | 'signed'>): ConfigVersionSummary => ({
  gatewayId: r.gateway_id,
  version: Number(r.version),
  source: r.source as ConfigSource,
  basedOn: r.based_on === null ? null : Number(r.based_on),
  rolloutId: r.rollout_id,
  note: r.note,
  createdBy: r.created_by,
  createdAt: r.created_at,
  state: r.state as ConfigState,
  reason: r.reason,
  stateAt: r.state_at,
});

const SUMMARY_COLUMNS = ['gateway_id', 'version', 'source', 'based_on', 'rollout_id', 'note', 'created_by', 'created_at', 'state', 'reason', 'state_at'] as const;

export class ConfigsRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  async insert(c: ConfigVersion): Promise<void> {
    await this.db
      .insertInto('config_versions')
      .values({
        gateway_id: c.gatewayId,
        version: c.version,
        document: JSON.stringify(c.document),
        signed: JSON.stringify(c.signed),
        source: c.source,
        based_on: c.basedOn,
        rollout_id: c.rolloutId,
        note: c.note,
        created_by: c.createdBy,
        created_at: c.createdAt,
        state: c.state,
        reason: c.reason,
        state_at: c.stateAt,
      })
      .execute();
  }

  async list(gatewayId: string, limit = 100): Promise<ConfigVersionSummary[]> {
    const rows = await this.db.selectFrom('config_versions').select(SUMMARY_COLUMNS).where('gateway_id', '=', gatewayId).orderBy('version', 'desc').limit(limit).execute();
    return rows.map(summaryOf);
  }

  async get(gatewayId: string, version: number): Promise<ConfigVersion | undefined> {
    const r = await this.db.selectFrom('config_versions').selectAll().where('gateway_id', '=', gatewayId).where('version', '=', version).executeTakeFirst();
    return r && { ...summaryOf(r), document: parseJson(r.document, {}), signed: parseJson(r.signed, {} as SignedConfig) };
  }

  /** The highest version issued to a gateway: what it should run (or is being offered). */
  async latest(gatewayId: string): Promise<ConfigVersion | undefined> {
    const r = await this.db.selectFrom('config_versions').selectAll().where('gateway_id', '=', gatewayId).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r && { ...summaryOf(r), document: parseJson(r.document, {}), signed: parseJson(r.signed, {} as SignedConfig) };
  }

  async latestSummary(gatewayId: string): Promise<ConfigVersionSummary | undefined> {
    const r = await this.db.selectFrom('config_versions').select(SUMMARY_COLUMNS).where('gateway_id', '=', gatewayId).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r && summaryOf(r);
  }

  async setState(gatewayId: string, version: number, s: { state: ConfigState; reason: string | null; now: number }): Promise<boolean> {
    const r = await this.db
      .updateTable('config_versions')
      .set({ state: s.state, reason: s.reason, state_at: s.now })
      .where('gateway_id', '=', gatewayId)
      .where('version', '=', version)
      .executeTakeFirst();
    return affected(r) > 0;
  }

  /** Highest version ever stored for a gateway id (history outlives a deleted gateway). */
  async maxVersion(gatewayId: string): Promise<number> {
    const r = await this.db.selectFrom('config_versions').select((eb) => eb.fn.max('version').as('v')).where('gateway_id', '=', gatewayId).executeTakeFirst();
    return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
  }
}
