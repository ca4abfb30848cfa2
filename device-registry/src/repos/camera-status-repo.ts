import type { Kysely, Selectable } from 'kysely';
import type { CameraInventory, CameraState } from '@cityedge/contract';
import type { CameraStatusTable, DiscoveredCamerasTable } from '../db/camera-schema.js';
import type { RegistryTables } from '../db/schema.js';
import { affected, parseJson } from './json.js';

export type CameraStatusState = CameraState | 'unknown';

export interface CameraStatusRecord {
  gatewayId: string;
  cameraId: string;
  state: CameraStatusState;
  reasons: string[];
  code: string | null;
  since: number | null;
  checkedAt: number | null;
  /** Gateway time of the newest state information applied. */
  observedAt: number;
  clockSkewMs: number | null;
  codec: string | null;
  width: number | null;
  height: number | null;
  inventory: CameraInventory | null;
  inventoryAt: number | null;
  updatedAt: number;
}

export interface ThumbnailMeta {
  gatewayId: string;
  cameraId: string;
  ts: number;
  width: number;
  height: number;
  receivedAt: number;
}

export interface ThumbnailRecord extends ThumbnailMeta {
  /** Base64 JPEG. */
  data: string;
}

export type DiscoveryState = 'discovered' | 'accepted' | 'dismissed';

export interface DiscoveredCameraRecord {
  gatewayId: string;
  epr: string;
  name: string | null;
  hardware: string | null;
  location: string | null;
  xaddrs: string[];
  scopes: string[];
  types: string[];
  from: string;
  firstSeen: number;
  lastSeen: number;
  state: DiscoveryState;
  cameraId: string | null;
  decidedBy: string | null;
  decidedAt: number | null;
}

const toStatus = (r: Selectable<CameraStatusTable>): CameraStatusRecord => ({
  gatewayId: r.gateway_id,
  cameraId: r.camera_id,
  state: r.state as CameraStatusState,
  reasons: parseJson<string[]>(r.reasons, []),
  code: r.code,
  since: r.since,
  checkedAt: r.checked_at,
  observedAt: r.observed_at,
  clockSkewMs: r.clock_skew_ms,
  codec: r.codec,
  width: r.width,
  height: r.height,
  inventory: parseJson<CameraInventory | null>(r.inventory, null),
  inventoryAt: r.inventory_at,
  updatedAt: r.updated_at,
});

const toDiscovered = (r: Selectable<DiscoveredCamerasTable>): DiscoveredCameraRecord => ({
  gatewayId: r.gateway_id,
  epr: r.epr,
  name: r.name,
  hardware: r.hardware,
  location: r.location,
  xaddrs: parseJson<string[]>(r.xaddrs, []),
  scopes: parseJson<string[]>(r.scopes, []),
  types: parseJson<string[]>(r.types, []),
  from: r.from_addr,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  state: r.state as DiscoveryState,
  cameraId: r.camera_id,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
});

const THUMB_META = ['gateway_id', 'camera_id', 'ts', 'width', 'height', 'received_at'] as const;

/** What gateways report about their cameras: state and inventory, thumbnails, discovered devices. */
export class CameraStatusRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  // --- state and inventory ---
  async get(gatewayId: string, cameraId: string): Promise<CameraStatusRecord | undefined> {
    const r = await this.db.selectFrom('camera_status').selectAll().where('gateway_id', '=', gatewayId).where('camera_id', '=', cameraId).executeTakeFirst();
    return r && toStatus(r);
  }

  async listOf(gatewayId: string): Promise<CameraStatusRecord[]> {
    return (await this.db.selectFrom('camera_status').selectAll().where('gateway_id', '=', gatewayId).orderBy('camera_id').execute()).map(toStatus);
  }

  /** Every reported camera of gateways that exist, with the gateway's site; filtered by site and state. */
  async listFleet(filter: { siteId?: string; state?: string } = {}): Promise<Array<CameraStatusRecord & { siteId: string | null }>> {
    let q = this.db.selectFrom('camera_status').innerJoin('gateways', 'gateways.id', 'camera_status.gateway_id').selectAll('camera_status').select('gateways.site_id');
    if (filter.siteId !== undefined) q = q.where('gateways.site_id', '=', filter.siteId);
    if (filter.state !== undefined) q = q.where('camera_status.state', '=', filter.state);
    const rows = await q.orderBy('camera_status.gateway_id').orderBy('camera_status.camera_id').execute();
    return rows.map((r) => ({ ...toStatus(r), siteId: r.site_id }));
  }

  async put(s: CameraStatusRecord): Promise<void> {
    const values = {
      state: s.state,
      reasons: JSON.stringify(s.reasons),
      code: s.code,
      since: s.since,
      checked_at: s.checkedAt,
      observed_at: s.observedAt,
      clock_skew_ms: s.clockSkewMs,
      codec: s.codec,
      width: s.width,
      height: s.height,
      inventory: s.inventory === null ? null : JSON.stringify(s.inventory),
      inventory_at: s.inventoryAt,
      updated_at: s.updatedAt,
    };
    await this.db
      .insertInto('camera_status')
      .values({ gateway_id: s.gatewayId, camera_id: s.cameraId, ...values })
      .onConflict((oc) => oc.columns(['gateway_id', 'camera_id']).doUpdateSet(values))
      .execute();
  }

  /** Copies probed inventory onto the registry's camera record, when there is one. */
  async setRecordInventory(gatewayId: string, cameraId: string, inventory: CameraInventory): Promise<boolean> {
    const r = await this.db.updateTable('cameras').set({ inventory: JSON.stringify(inventory) }).where('gateway_id', '=', gatewayId).where('id', '=', cameraId).executeTakeFirst();
    return affected(r) > 0;
  }

  // --- thumbnails ---
  async getThumbnail(gatewayId: string, cameraId: string): Promise<ThumbnailRecord | undefined> {
    const r = await this.db.selectFrom('camera_thumbnails').selectAll().where('gateway_id', '=', gatewayId).where('camera_id', '=', cameraId).executeTakeFirst();
    return r && { gatewayId: r.gateway_id, cameraId: r.camera_id, ts: r.ts, width: r.width, height: r.height, receivedAt: r.received_at, data: r.data };
  }

  /** Thumbnail dates and sizes of a gateway's cameras (or of every gateway), without the pictures. */
  async listThumbnailMeta(gatewayId?: string): Promise<ThumbnailMeta[]> {
    let q = this.db.selectFrom('camera_thumbnails').select(THUMB_META);
    if (gatewayId !== undefined) q = q.where('gateway_id', '=', gatewayId);
    return (await q.execute()).map((r) => ({ gatewayId: r.gateway_id, cameraId: r.camera_id, ts: r.ts, width: r.width, height: r.height, receivedAt: r.received_at }));
  }

  /** Stores a thumbnail unless a newer one (by gateway time) is already there; true when stored. */
  async putThumbnail(t: ThumbnailRecord): Promise<boolean> {
    const values = { ts: t.ts, width: t.width, height: t.height, data: t.data, received_at: t.receivedAt };
    const r = await this.db
      .insertInto('camera_thumbnails')
      .values({ gateway_id: t.gatewayId, camera_id: t.cameraId, ...values })
      .onConflict((oc) => oc.columns(['gateway_id', 'camera_id']).doUpdateSet(values).where('camera_thumbnails.ts', '<=', t.ts))
      .executeTakeFirst();
    return affected(r) > 0;
  }

  // --- discovered devices ---
  async getDiscovered(gatewayId: string, epr: string): Promise<DiscoveredCameraRecord | undefined> {
    const r = await this.db.selectFrom('discovered_cameras').selectAll().where('gateway_id', '=', gatewayId).where('epr', '=', epr).executeTakeFirst();
    return r && toDiscovered(r);
  }

  async listDiscovered(gatewayId: string, state?: DiscoveryState): Promise<DiscoveredCameraRecord[]> {
    let q = this.db.selectFrom('discovered_cameras').selectAll().where('gateway_id', '=', gatewayId);
    if (state !== undefined) q = q.where('state', '=', state);
    return (await q.orderBy('first_seen').orderBy('epr').execute()).map(toDiscovered);
  }

  async putDiscovered(d: DiscoveredCameraRecord): Promise<void> {
    const values = {
      name: d.name,
      hardware: d.hardware,
      location: d.location,
      xaddrs: JSON.stringify(d.xaddrs),
      scopes: JSON.stringify(d.scopes),
      types: JSON.stringify(d.types),
      from_addr: d.from,
      first_seen: d.firstSeen,
      last_seen: d.lastSeen,
      state: d.state,
      camera_id: d.cameraId,
      decided_by: d.decidedBy,
      decided_at: d.decidedAt,
    };
    await this.db
      .insertInto('discovered_cameras')
      .values({ gateway_id: d.gatewayId, epr: d.epr, ...values })
      .onConflict((oc) => oc.columns(['gateway_id', 'epr']).doUpdateSet(values))
      .execute();
  }

  /** Forgets everything reported by a gateway (it is being deleted). */
  async deleteAllOf(gatewayId: string): Promise<void> {
    await this.db.deleteFrom('camera_status').where('gateway_id', '=', gatewayId).execute();
    await this.db.deleteFrom('camera_thumbnails').where('gateway_id', '=', gatewayId).execute();
    await this.db.deleteFrom('discovered_cameras').where('gateway_id', '=', gatewayId).execute();
  }
}
