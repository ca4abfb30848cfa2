import { sql, type Kysely, type Selectable } from 'kysely';
import type { DeviceProblem, LineProblem } from '@cityedge/contract';
import type { GatewaysTable, RegistryTables } from '../db/schema.js';
import { affected, parseJson } from './json.js';

export type GatewayState = 'unknown' | 'online' | 'offline';

/** What a gateway last reported wrong on the lines and devices of the configuration it runs. */
export interface GatewayProblems {
  /** The configuration version they are about (the one running when reported). */
  version: number;
  /** When the gateway reported them (its clock). */
  at: number;
  lines: LineProblem[];
  devices: DeviceProblem[];
  /** More than the report listed. */
  omitted?: { lines: number; devices: number };
}

export interface GatewayStatus {
  state: GatewayState;
  /** When the state last changed or was refreshed (registry clock). */
  since: number | null;
  /** Last time the gateway said it was online (registry clock). */
  lastSeen: number | null;
  agentVersion: string | null;
  configVersionRunning: number | null;
  backlog: number | null;
  devicesFailing: number | null;
  /** Line and device problems with the config report they came with; null before the first. */
  problems: GatewayProblems | null;
}

export interface Gateway {
  id: string;
  siteId: string | null;
  name: string | null;
  tags: string[];
  createdAt: number;
  updatedAt: number;
  enrolledAt: number | null;
  hostname: string | null;
  status: GatewayStatus;
  lastConfigVersion: number;
}

function toGateway(r: Selectable<GatewaysTable>): Gateway {
  return {
    id: r.id,
    siteId: r.site_id,
    name: r.name,
    tags: parseJson<string[]>(r.tags, []),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    enrolledAt: r.enrolled_at,
    hostname: r.hostname,
    status: {
      state: (r.status as GatewayState) ?? 'unknown',
      since: r.status_at,
      lastSeen: r.last_seen,
      agentVersion: r.agent_version,
      configVersionRunning: r.config_version_running,
      backlog: r.backlog,
      devicesFailing: r.devices_failing,
      problems: parseJson<GatewayProblems | null>(r.runtime_problems, null),
    },
    lastConfigVersion: r.last_config_version,
  };
}

export interface EnrollmentCode {
  codeHash: string;
  gatewayId: string;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
  usedAt: number | null;
}

export class GatewaysRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  /** `lastConfigVersion` continues the history of a re-created id so versions never repeat. */
  async insert(g: { id: string; siteId: string | null; name: string | null; tags: string[]; now: number; lastConfigVersion: number }): Promise<void> {
    await this.db
      .insertInto('gateways')
      .values({ id: g.id, site_id: g.siteId, name: g.name, tags: JSON.stringify(g.tags), created_at: g.now, updated_at: g.now, status: 'unknown', last_config_version: g.lastConfigVersion })
      .execute();
  }

  async update(id: string, g: { siteId: string | null; name: string | null; tags: string[]; now: number }): Promise<boolean> {
    const r = await this.db.updateTable('gateways').set({ site_id: g.siteId, name: g.name, tags: JSON.stringify(g.tags), updated_at: g.now }).where('id', '=', id).executeTakeFirst();
    return affected(r) > 0;
  }

  async get(id: string): Promise<Gateway | undefined> {
    const r = await this.db.selectFrom('gateways').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toGateway(r);
  }

  async list(filter: { siteId?: string; tag?: string } = {}): Promise<Gateway[]> {
    let q = this.db.selectFrom('gateways').selectAll().orderBy('id');
    if (filter.siteId !== undefined) q = q.where('site_id', '=', filter.siteId);
    const rows = (await q.execute()).map(toGateway);
    return filter.tag === undefined ? rows : rows.filter((g) => g.tags.includes(filter.tag!));
  }

  async countBySite(siteId: string): Promise<number> {
    const r = await this.db.selectFrom('gateways').select((eb) => eb.fn.countAll<number>().as('n')).where('site_id', '=', siteId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** How many gateways are in each status (online, offline, unknown). */
  async countByState(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('gateways').select((eb) => ['status', eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status ?? 'unknown', Number(r.n)]));
  }

  async delete(id: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('gateways').where('id', '=', id).executeTakeFirst()) > 0;
  }

  async passwordHash(id: string): Promise<string | null | undefined> {
    const r = await this.db.selectFrom('gateways').select('mqtt_password_hash').where('id', '=', id).executeTakeFirst();
    return r?.mqtt_password_hash;
  }

  async setCredentials(id: string, c: { passwordHash: string; hostname: string | null; now: number }): Promise<void> {
    await this.db.updateTable('gateways').set({ mqtt_password_hash: c.passwordHash, hostname: c.hostname, enrolled_at: c.now, updated_at: c.now }).where('id', '=', id).execute();
  }

  /** Atomically takes the next configuration version: versions only go up and are never reused. */
  async nextConfigVersion(id: string): Promise<number> {
    const r = await this.db
      .updateTable('gateways')
      .set({ last_config_version: sql<number>`last_config_version + 1` })
      .where('id', '=', id)
      .returning('last_config_version')
      .executeTakeFirstOrThrow();
    return Number(r.last_config_version);
  }

  async setStatus(
    id: string,
    s: { state: GatewayState; now: number; online: boolean; agentVersion?: string; configVersion?: number; backlog?: number; devicesFailing?: number },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('gateways')
      .set({
        status: s.state,
        status_at: s.now,
        ...(s.online && { last_seen: s.now }),
        ...(s.agentVersion !== undefined && { agent_version: s.agentVersion }),
        ...(s.configVersion !== undefined && { config_version_running: s.configVersion }),
        ...(s.backlog !== undefined && { backlog: s.backlog }),
        ...(s.devicesFailing !== undefined && { devices_failing: s.devicesFailing }),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return affected(r) > 0;
  }

  async setRunningVersion(id: string, version: number): Promise<void> {
    await this.db.updateTable('gateways').set({ config_version_running: version }).where('id', '=', id).execute();
  }

  /** The problems a config report carried; the devices among them are the gateway's failing devices. */
  async setProblems(id: string, problems: GatewayProblems): Promise<void> {
    await this.db.updateTable('gateways').set({ runtime_problems: JSON.stringify(problems), devices_failing: problems.devices.length + (problems.omitted?.devices ?? 0) }).where('id', '=', id).execute();
  }

  // --- enrollment codes ---

  async insertCode(c: EnrollmentCode): Promise<void> {
    await this.db
      .insertInto('enrollment_codes')
      .values({ code_hash: c.codeHash, gateway_id: c.gatewayId, created_at: c.createdAt, created_by: c.createdBy, expires_at: c.expiresAt, used_at: c.usedAt })
      .execute();
  }

  /** Unused codes of a gateway are replaced when a new one is issued. */
  async deleteUnusedCodes(gatewayId: string): Promise<void> {
    await this.db.deleteFrom('enrollment_codes').where('gateway_id', '=', gatewayId).where('used_at', 'is', null).execute();
  }

  async deleteCodes(gatewayId: string): Promise<void> {
    await this.db.deleteFrom('enrollment_codes').where('gateway_id', '=', gatewayId).execute();
  }

  async getCode(codeHash: string): Promise<EnrollmentCode | undefined> {
    const r = await this.db.selectFrom('enrollment_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
    return r && { codeHash: r.code_hash, gatewayId: r.gateway_id, createdAt: r.created_at, createdBy: r.created_by, expiresAt: r.expires_at, usedAt: r.used_at };
  }

  /** Marks a code used if nobody did first; false when another request won the race. */
  async claimCode(codeHash: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('enrollment_codes').set({ used_at: now }).where('code_hash', '=', codeHash).where('used_at', 'is', null).executeTakeFirst();
    return affected(r) === 1;
  }
}
