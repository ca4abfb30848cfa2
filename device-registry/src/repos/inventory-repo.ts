import type { Kysely, Selectable } from 'kysely';
import type { CamerasTable, DevicesTable, LinesTable, RegistryTables } from '../db/schema.js';
import { CameraStatusRepo } from './camera-status-repo.js';
import { RulesRepo } from './rules-repo.js';
import { affected, parseJson } from './json.js';

export type LineType = 'rtu' | 'tcp' | 'rtu-over-tcp' | 'firmata';

export interface LineRecord {
  gatewayId: string;
  id: string;
  type: LineType;
  path: string | null;
  host: string | null;
  port: number | null;
  /** Serial settings and scheduler knobs, as the configuration schema names them. */
  settings: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface DeviceRecord {
  gatewayId: string;
  id: string;
  lineId: string;
  name: string | null;
  profile: string;
  unitId: number | null;
  pollIntervalMs: number | null;
  addressOffset: number;
  timeoutMs: number | null;
  enabled: boolean;
  /** Point overrides by point name. */
  points: Record<string, Record<string, unknown>>;
  createdAt: number;
  updatedAt: number;
}

export interface CameraRecord {
  gatewayId: string;
  id: string;
  name: string;
  host: string;
  onvifPort: number;
  username: string | null;
  passwordEnc: string | null;
  inventory: Record<string, unknown> | null;
  createdAt: number;
  updatedAt: number;
}

const toLine = (r: Selectable<LinesTable>): LineRecord => ({
  gatewayId: r.gateway_id,
  id: r.id,
  type: r.type as LineType,
  path: r.path,
  host: r.host,
  port: r.port,
  settings: parseJson<Record<string, unknown>>(r.settings, {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toDevice = (r: Selectable<DevicesTable>): DeviceRecord => ({
  gatewayId: r.gateway_id,
  id: r.id,
  lineId: r.line_id,
  name: r.name,
  profile: r.profile,
  unitId: r.unit_id,
  pollIntervalMs: r.poll_interval_ms,
  addressOffset: r.address_offset,
  timeoutMs: r.timeout_ms,
  enabled: r.enabled !== 0,
  points: parseJson<Record<string, Record<string, unknown>>>(r.points, {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toCamera = (r: Selectable<CamerasTable>): CameraRecord => ({
  gatewayId: r.gateway_id,
  id: r.id,
  name: r.name,
  host: r.host,
  onvifPort: r.onvif_port,
  username: r.username,
  passwordEnc: r.password_enc,
  inventory: parseJson<Record<string, unknown> | null>(r.inventory, null),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class InventoryRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  // --- lines ---
  async listLines(gatewayId: string): Promise<LineRecord[]> {
    return (await this.db.selectFrom('lines').selectAll().where('gateway_id', '=', gatewayId).orderBy('created_at').orderBy('id').execute()).map(toLine);
  }

  async getLine(gatewayId: string, id: string): Promise<LineRecord | undefined> {
    const r = await this.db.selectFrom('lines').selectAll().where('gateway_id', '=', gatewayId).where('id', '=', id).executeTakeFirst();
    return r && toLine(r);
  }

  async upsertLine(l: LineRecord): Promise<void> {
    const values = { type: l.type, path: l.path, host: l.host, port: l.port, settings: JSON.stringify(l.settings), updated_at: l.updatedAt };
    await this.db
      .insertInto('lines')
      .values({ gateway_id: l.gatewayId, id: l.id, created_at: l.createdAt, ...values })
      .onConflict((oc) => oc.columns(['gateway_id', 'id']).doUpdateSet(values))
      .execute();
  }

  async deleteLine(gatewayId: string, id: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('lines').where('gateway_id', '=', gatewayId).where('id', '=', id).executeTakeFirst()) > 0;
  }

  // --- devices ---
  async listDevices(gatewayId: string): Promise<DeviceRecord[]> {
    return (await this.db.selectFrom('devices').selectAll().where('gateway_id', '=', gatewayId).orderBy('created_at').orderBy('id').execute()).map(toDevice);
  }

  async getDevice(gatewayId: string, id: string): Promise<DeviceRecord | undefined> {
    const r = await this.db.selectFrom('devices').selectAll().where('gateway_id', '=', gatewayId).where('id', '=', id).executeTakeFirst();
    return r && toDevice(r);
  }

  async insertDevice(d: DeviceRecord): Promise<void> {
    await this.db
      .insertInto('devices')
      .values({ gateway_id: d.gatewayId, id: d.id, created_at: d.createdAt, ...deviceValues(d) })
      .execute();
  }

  async updateDevice(d: DeviceRecord): Promise<boolean> {
    const r = await this.db.updateTable('devices').set(deviceValues(d)).where('gateway_id', '=', d.gatewayId).where('id', '=', d.id).executeTakeFirst();
    return affected(r) > 0;
  }

  async deleteDevice(gatewayId: string, id: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('devices').where('gateway_id', '=', gatewayId).where('id', '=', id).executeTakeFirst()) > 0;
  }

  // --- cameras ---
  async listCameras(gatewayId: string): Promise<CameraRecord[]> {
    return (await this.db.selectFrom('cameras').selectAll().where('gateway_id', '=', gatewayId).orderBy('id').execute()).map(toCamera);
  }

  async getCamera(gatewayId: string, id: string): Promise<CameraRecord | undefined> {
    const r = await this.db.selectFrom('cameras').selectAll().where('gateway_id', '=', gatewayId).where('id', '=', id).executeTakeFirst();
    return r && toCamera(r);
  }

  async upsertCamera(c: CameraRecord): Promise<void> {
    const values = {
      name: c.name,
      host: c.host,
      onvif_port: c.onvifPort,
      username: c.username,
      password_enc: c.passwordEnc,
      inventory: c.inventory === null ? null : JSON.stringify(c.inventory),
      updated_at: c.updatedAt,
    };
    await this.db
      .insertInto('cameras')
      .values({ gateway_id: c.gatewayId, id: c.id, created_at: c.createdAt, ...values })
      .onConflict((oc) => oc.columns(['gateway_id', 'id']).doUpdateSet(values))
      .execute();
  }

  async deleteCamera(gatewayId: string, id: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('cameras').where('gateway_id', '=', gatewayId).where('id', '=', id).executeTakeFirst()) > 0;
  }

  /** Removes every line, device, camera and the rules of a gateway (devices first: they reference lines), and its camera reports. */
  async deleteAllOf(gatewayId: string): Promise<void> {
    await this.db.deleteFrom('devices').where('gateway_id', '=', gatewayId).execute();
    await this.db.deleteFrom('lines').where('gateway_id', '=', gatewayId).execute();
    await this.db.deleteFrom('cameras').where('gateway_id', '=', gatewayId).execute();
    // What the gateway reported about its cameras goes with it.
    await new CameraStatusRepo(this.db).deleteAllOf(gatewayId);
    await new RulesRepo(this.db).delete(gatewayId);
  }
}

function deviceValues(d: DeviceRecord) {
  return {
    line_id: d.lineId,
    name: d.name,
    profile: d.profile,
    unit_id: d.unitId,
    poll_interval_ms: d.pollIntervalMs,
    address_offset: d.addressOffset,
    timeout_ms: d.timeoutMs,
    enabled: d.enabled ? 1 : 0,
    points: JSON.stringify(d.points),
    updated_at: d.updatedAt,
  };
}
