import { isValidGatewayId, type CameraInventory, type CamerasStatusMessage, type CameraThumbnailMessage } from '@cityedge/contract';
import type { RegistryStore, Repos } from '../db/store.js';
import { conflict, notFound } from '../errors.js';
import type { CameraEvent } from '../ingest/camera-payloads.js';
import type { CameraStatusRecord, CameraStatusState, DiscoveredCameraRecord, DiscoveryState, ThumbnailMeta } from '../repos/camera-status-repo.js';
import type { CameraService, CameraView } from './camera-service.js';
import { actorId, type CallContext, type ServiceDeps } from './context.js';

/** A camera as the gateway last reported it, with what the registry knows of it. */
export interface CameraStatusView {
  gatewayId: string;
  cameraId: string;
  /** A camera record exists in the registry for this id. */
  registered: boolean;
  name: string | null;
  state: CameraStatusState;
  reasons: string[];
  code: string | null;
  since: number | null;
  checkedAt: number | null;
  clockSkewMs: number | null;
  codec: string | null;
  width: number | null;
  height: number | null;
  inventory: CameraInventory | null;
  inventoryAt: number | null;
  thumbnail: { ts: number; width: number; height: number } | null;
  /** Registry time of the last report (null: never reported). */
  updatedAt: number | null;
}

export type FleetCameraStatusView = CameraStatusView & { siteId: string | null };

export type DiscoveredCameraView = DiscoveredCameraRecord;

export interface AcceptDiscoveredInput {
  id: string;
  name?: string;
  username?: string | null;
  password?: string | null;
  onvifPort?: number;
}

/** Gateway id + camera id as one map key. */
const keyOf = (gw: string, cam: string) => `${gw}\u0000${cam}`;

/**
 * What gateways report about their cameras (the camera follower calls the `on*` methods with the
 * gateway id of the topic) and what operators read and decide about it. A report from a gateway
 * the registry does not know is ignored. State is taken only when newer (by the gateway's
 * clock) than what is stored, so a late event from a backlog never overwrites a fresher status.
 */
export class CameraStatusService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly cameras: CameraService,
  ) {}

  // --- from the gateways (CameraListener) ---

  /** The retained status of every camera of a gateway; false when ignored (unknown gateway). */
  async onCamerasStatus(gatewayId: string, msg: CamerasStatusMessage): Promise<boolean> {
    if (!(await this.knownGateway(gatewayId))) return false;
    const now = this.deps.clock.now();
    await this.store.transaction(async (tx) => {
      const current = new Map((await tx.cameraStatus.listOf(gatewayId)).map((s) => [s.cameraId, s]));
      for (const e of msg.cameras) {
        const prev = current.get(e.id);
        if (prev && e.checkedAt < prev.observedAt) continue;
        await tx.cameraStatus.put({
          ...(prev ?? blank(gatewayId, e.id, now)),
          state: e.state,
          reasons: e.reasons,
          code: prev && prev.state === e.state ? prev.code : null,
          since: e.since,
          checkedAt: e.checkedAt,
          observedAt: e.checkedAt,
          clockSkewMs: e.clockSkewMs ?? null,
          codec: e.codec ?? null,
          width: e.width ?? null,
          height: e.height ?? null,
          updatedAt: now,
        });
      }
    });
    await this.publish(gatewayId, msg.cameras.map((c) => c.id));
    return true;
  }

  /** The cameras' states (as the camera status API returns them) to the event streams. */
  private async publish(gatewayId: string, cameraIds: readonly string[]): Promise<void> {
    if (!this.deps.hub.wants('cameras', gatewayId)) return;
    for (const id of cameraIds) {
      const view = await this.getForCamera(gatewayId, id).catch(() => undefined);
      if (view) this.deps.hub.publish('cameras', gatewayId, view);
    }
  }

  /** A camera event from the gateway's events stream; false when ignored (unknown gateway, stale). */
  async onCameraEvent(gatewayId: string, ev: CameraEvent): Promise<boolean> {
    if (!(await this.knownGateway(gatewayId))) return false;
    const now = this.deps.clock.now();
    if (ev.kind === 'discovered') return this.discovered(gatewayId, ev, now);
    const changed = await this.store.transaction(async (tx) => {
      const prev = await tx.cameraStatus.get(gatewayId, ev.cameraId);
      const base = prev ?? blank(gatewayId, ev.cameraId, now);
      if (ev.kind === 'state') {
        if (prev && ev.ts < prev.observedAt) return false;
        const d = ev.data;
        await tx.cameraStatus.put({ ...base, state: d.state, reasons: d.reasons, code: d.code ?? null, since: ev.ts, checkedAt: ev.ts, observedAt: ev.ts, clockSkewMs: d.clockSkewMs ?? base.clockSkewMs, updatedAt: now });
        return true;
      }
      if (prev?.inventoryAt != null && ev.ts < prev.inventoryAt) return false;
      await tx.cameraStatus.put({ ...base, inventory: ev.inventory, inventoryAt: ev.ts, updatedAt: now });
      await tx.cameraStatus.setRecordInventory(gatewayId, ev.cameraId, ev.inventory);
      return true;
    });
    if (changed) await this.publish(gatewayId, [ev.cameraId]);
    return changed;
  }

  /** A thumbnail (already size-checked by the follower); false when ignored (unknown gateway, older than the stored one). */
  async onThumbnail(gatewayId: string, msg: CameraThumbnailMessage): Promise<boolean> {
    if (!(await this.knownGateway(gatewayId))) return false;
    return this.store.cameraStatus.putThumbnail({ gatewayId, cameraId: msg.cam, ts: msg.ts, width: msg.width, height: msg.height, data: msg.data, receivedAt: this.deps.clock.now() });
  }

  private async discovered(gatewayId: string, ev: Extract<CameraEvent, { kind: 'discovered' }>, now: number): Promise<boolean> {
    const d = ev.data;
    return this.store.transaction(async (tx) => {
      const prev = await tx.cameraStatus.getDiscovered(gatewayId, d.epr);
      await tx.cameraStatus.putDiscovered({
        gatewayId,
        epr: d.epr,
        name: d.name ?? null,
        hardware: d.hardware ?? null,
        location: d.location ?? null,
        xaddrs: d.xaddrs,
        scopes: d.scopes,
        types: d.types,
        from: d.from,
        firstSeen: prev ? Math.min(prev.firstSeen, ev.ts) : ev.ts,
        lastSeen: prev ? Math.max(prev.lastSeen, ev.ts) : ev.ts,
        state: prev?.state ?? 'discovered',
        cameraId: prev?.cameraId ?? null,
        decidedBy: prev?.decidedBy ?? null,
        decidedAt: prev?.decidedAt ?? null,
      });
      if (!prev) {
        this.deps.logger.info({ gatewayId, epr: d.epr, from: d.from, at: now }, 'a gateway discovered an untrusted camera');
        await this.deps.auditor.record(tx, { actor: { kind: 'gateway', id: gatewayId } }, 'camera.discovered', { type: 'discovered-camera', id: `${gatewayId}/${d.epr}` }, { from: d.from, xaddrs: d.xaddrs, name: d.name ?? null });
      }
      return true;
    });
  }

  // --- for operators ---

  /** Every camera of a gateway: registered ones (state unknown until reported) and reported ones. */
  async listForGateway(gatewayId: string): Promise<CameraStatusView[]> {
    await this.requireGateway(gatewayId);
    const [statuses, records, thumbs] = await Promise.all([this.store.cameraStatus.listOf(gatewayId), this.store.inventory.listCameras(gatewayId), this.store.cameraStatus.listThumbnailMeta(gatewayId)]);
    const byId = new Map(statuses.map((s) => [s.cameraId, s]));
    const thumbOf = thumbIndex(thumbs);
    const ids = [...new Set([...records.map((r) => r.id), ...byId.keys()])].sort();
    const recordOf = new Map(records.map((r) => [r.id, r]));
    return ids.map((id) => view(gatewayId, id, byId.get(id), recordOf.get(id), thumbOf.get(keyOf(gatewayId, id))));
  }

  async getForCamera(gatewayId: string, cameraId: string): Promise<CameraStatusView> {
    await this.requireGateway(gatewayId);
    const [status, record, thumb] = await Promise.all([this.store.cameraStatus.get(gatewayId, cameraId), this.store.inventory.getCamera(gatewayId, cameraId), this.store.cameraStatus.getThumbnail(gatewayId, cameraId)]);
    if (!status && !record) throw notFound('camera', cameraId);
    return view(gatewayId, cameraId, status, record, thumb);
  }

  /** Every reported camera of the fleet, by site and state. */
  async listFleet(filter: { siteId?: string; state?: string } = {}): Promise<FleetCameraStatusView[]> {
    const [rows, thumbs] = await Promise.all([this.store.cameraStatus.listFleet(filter), this.store.cameraStatus.listThumbnailMeta()]);
    const thumbOf = thumbIndex(thumbs);
    const names = new Map<string, string>();
    for (const gw of new Set(rows.map((r) => r.gatewayId))) for (const c of await this.store.inventory.listCameras(gw)) names.set(keyOf(gw, c.id), c.name);
    return rows.map(({ siteId, ...s }) => {
      const k = keyOf(s.gatewayId, s.cameraId);
      const name = names.get(k);
      return { ...view(s.gatewayId, s.cameraId, s, name === undefined ? undefined : { name }, thumbOf.get(k)), siteId };
    });
  }

  /** The newest thumbnail as JPEG bytes. */
  async thumbnail(gatewayId: string, cameraId: string): Promise<{ jpeg: Buffer; ts: number; width: number; height: number }> {
    await this.requireGateway(gatewayId);
    const t = await this.store.cameraStatus.getThumbnail(gatewayId, cameraId);
    if (!t) throw notFound('thumbnail of camera', cameraId);
    return { jpeg: Buffer.from(t.data, 'base64'), ts: t.ts, width: t.width, height: t.height };
  }

  async listDiscovered(gatewayId: string, state?: DiscoveryState): Promise<DiscoveredCameraView[]> {
    await this.requireGateway(gatewayId);
    return this.store.cameraStatus.listDiscovered(gatewayId, state);
  }

  /**
   * Trusts a discovered device: creates a camera record (host and ONVIF port from its first
   * XAddr) and marks the discovery accepted. The gateway probes it once a configuration naming
   * it is issued.
   */
  async accept(gatewayId: string, epr: string, input: AcceptDiscoveredInput, ctx: CallContext): Promise<{ camera: CameraView; discovered: DiscoveredCameraView }> {
    await this.requireGateway(gatewayId);
    const d = await this.store.cameraStatus.getDiscovered(gatewayId, epr);
    if (!d) throw notFound('discovered camera', epr);
    if (d.state === 'accepted') throw conflict(`discovered camera "${epr}" was already accepted as camera "${d.cameraId ?? ''}"`);
    const addr = deviceAddress(d);
    const camera = await this.cameras.create(
      gatewayId,
      {
        id: input.id,
        name: input.name ?? d.name ?? input.id,
        host: addr.host,
        onvifPort: input.onvifPort ?? addr.port,
        ...(input.username !== undefined && { username: input.username }),
        ...(input.password !== undefined && { password: input.password }),
      },
      ctx,
    );
    const discovered = await this.decide(d, 'accepted', camera.id, ctx);
    return { camera, discovered };
  }

  /** Marks a discovered device as not a camera to manage; it stays dismissed when seen again. */
  async dismiss(gatewayId: string, epr: string, ctx: CallContext): Promise<DiscoveredCameraView> {
    await this.requireGateway(gatewayId);
    const d = await this.store.cameraStatus.getDiscovered(gatewayId, epr);
    if (!d) throw notFound('discovered camera', epr);
    if (d.state === 'accepted') throw conflict(`discovered camera "${epr}" was accepted as camera "${d.cameraId ?? ''}"; delete that camera instead`);
    if (d.state === 'dismissed') return d;
    return this.decide(d, 'dismissed', null, ctx);
  }

  private async decide(d: DiscoveredCameraRecord, state: 'accepted' | 'dismissed', cameraId: string | null, ctx: CallContext): Promise<DiscoveredCameraView> {
    const next: DiscoveredCameraRecord = { ...d, state, cameraId, decidedBy: actorId(ctx.actor), decidedAt: this.deps.clock.now() };
    await this.store.transaction(async (tx: Repos) => {
      await tx.cameraStatus.putDiscovered(next);
      await this.deps.auditor.record(tx, ctx, `camera.discovered.${state === 'accepted' ? 'accept' : 'dismiss'}`, { type: 'discovered-camera', id: `${d.gatewayId}/${d.epr}` }, cameraId === null ? {} : { cameraId });
    });
    return next;
  }

  private async knownGateway(gatewayId: string): Promise<boolean> {
    if (!isValidGatewayId(gatewayId) || !(await this.store.gateways.get(gatewayId))) {
      this.deps.logger.debug({ gatewayId }, 'camera report from a gateway the registry does not know; ignored');
      return false;
    }
    return true;
  }

  private async requireGateway(id: string): Promise<void> {
    if (!(await this.store.gateways.get(id))) throw notFound('gateway', id);
  }
}

function blank(gatewayId: string, cameraId: string, now: number): CameraStatusRecord {
  return { gatewayId, cameraId, state: 'unknown', reasons: [], code: null, since: null, checkedAt: null, observedAt: 0, clockSkewMs: null, codec: null, width: null, height: null, inventory: null, inventoryAt: null, updatedAt: now };
}

function thumbIndex(thumbs: readonly ThumbnailMeta[]): Map<string, ThumbnailMeta> {
  return new Map(thumbs.map((t) => [keyOf(t.gatewayId, t.cameraId), t]));
}

function view(gatewayId: string, cameraId: string, s: CameraStatusRecord | undefined, record: { name: string } | undefined, thumb: { ts: number; width: number; height: number } | undefined): CameraStatusView {
  return {
    gatewayId,
    cameraId,
    registered: record !== undefined,
    name: record?.name ?? null,
    state: s?.state ?? 'unknown',
    reasons: s?.reasons ?? [],
    code: s?.code ?? null,
    since: s?.since ?? null,
    checkedAt: s?.checkedAt ?? null,
    clockSkewMs: s?.clockSkewMs ?? null,
    codec: s?.codec ?? null,
    width: s?.width ?? null,
    height: s?.height ?? null,
    inventory: s?.inventory ?? null,
    inventoryAt: s?.inventoryAt ?? null,
    thumbnail: thumb ? { ts: thumb.ts, width: thumb.width, height: thumb.height } : null,
    updatedAt: s?.updatedAt ?? null,
  };
}

/** Host and ONVIF port of a discovered device: its first usable XAddr, else the address its answer came from. */
export function deviceAddress(d: Pick<DiscoveredCameraRecord, 'xaddrs' | 'from'>): { host: string; port: number } {
  for (const x of d.xaddrs) {
    try {
      const u = new URL(x);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') continue;
      const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      return { host, port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80 };
    } catch {
      // next
    }
  }
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d+)?$/.exec(d.from);
  const host = bracketed ? bracketed[1]! : /^[^:]+:\d+$/.test(d.from) ? d.from.replace(/:\d+$/, '') : d.from;
  return { host, port: 80 };
}
