import type { CameraConfig, CameraInventory, CameraReason, CameraState, CameraStatusEntry } from '@cityedge/contract';
import { SnapshotFreshness, stripUriSecrets } from '@cityedge/drivers/camera';
import type { ProbeMemory, ProbeOutcome } from './probe-outcome.js';

export interface StateChange {
  state: CameraState;
  previous: CameraState | 'unknown';
  reasons: CameraReason[];
  code?: string;
  detail?: string;
  clockSkewMs?: number;
}

export interface TrackResult {
  change?: StateChange;
  /** New or changed inventory (URIs already stripped of secrets). */
  inventory?: CameraInventory;
}

const MAX_PROFILES = 8;

/**
 * One camera's view over time: the reported state with its reasons, a change confirmed only
 * after `confirmAfter` probes agree (the first probe after start is reported at once), the
 * inventory last reported, and when the last thumbnail went out.
 */
export class CameraTracker {
  readonly memory: ProbeMemory;
  state: CameraState | 'unknown' = 'unknown';
  reasons: CameraReason[] = [];
  since = 0;
  checkedAt = 0;
  lastThumbnailAt: number | undefined;
  /** Probing now or waiting for a slot. */
  busy = false;
  due = 0;
  probes = 0;
  /** Passwords to mask wherever they might appear in a URI (set once the credentials are read). */
  secrets: readonly (string | undefined)[] = [];
  private pending: { key: string; count: number } | undefined;
  private inventoryKey: string | undefined;
  private last: ProbeOutcome | undefined;
  /** Detail of the reported state (kept while the state lasts). */
  private detail: string | undefined;

  constructor(
    readonly config: CameraConfig,
    private readonly confirmAfter: number,
    stale: { after: number; minMs: number },
  ) {
    this.memory = { streamUris: new Map(), profileKey: undefined, snapshotUri: undefined, freshness: new SnapshotFreshness(stale.after, stale.minMs), lastSnapshot: undefined };
  }

  get id(): string {
    return this.config.id;
  }

  /** Whether a probe now should make a thumbnail: never sent, not online before, or the interval has passed. */
  wantsThumbnail(now: number, intervalMs: number): boolean {
    return this.lastThumbnailAt === undefined || this.state !== 'online' || now - this.lastThumbnailAt >= intervalMs;
  }

  /** A pending change is being confirmed: the next probe should come sooner. */
  get confirming(): boolean {
    return this.pending !== undefined;
  }

  track(outcome: ProbeOutcome, now: number): TrackResult {
    this.checkedAt = now;
    this.probes++;
    this.last = outcome;
    const result: TrackResult = {};
    const key = `${outcome.state}|${outcome.reasons.join(',')}`;
    const currentKey = `${this.state}|${this.reasons.join(',')}`;
    if (key === currentKey) {
      this.pending = undefined;
    } else {
      this.pending = this.pending?.key === key ? { key, count: this.pending.count + 1 } : { key, count: 1 };
      if (this.state === 'unknown' || this.pending.count >= this.confirmAfter) {
        result.change = {
          state: outcome.state,
          previous: this.state,
          reasons: outcome.reasons,
          ...(outcome.code !== undefined && { code: outcome.code }),
          ...(outcome.detail !== undefined && { detail: outcome.detail }),
          ...(outcome.clockSkewMs !== undefined && { clockSkewMs: outcome.clockSkewMs }),
        };
        this.state = outcome.state;
        this.reasons = outcome.reasons;
        this.detail = outcome.detail;
        this.since = now;
        this.pending = undefined;
      }
    }
    const inventory = this.inventoryOf(outcome);
    if (inventory) {
      const invKey = JSON.stringify(inventory);
      if (invKey !== this.inventoryKey) {
        this.inventoryKey = invKey;
        result.inventory = inventory;
      }
    }
    return result;
  }

  status(): CameraStatusEntry | undefined {
    if (this.state === 'unknown') return undefined;
    const o = this.last;
    return {
      id: this.id,
      state: this.state,
      reasons: this.reasons,
      since: this.since,
      checkedAt: this.checkedAt,
      ...(this.state === 'misconfigured' && this.detail !== undefined && { detail: this.detail }),
      ...(o?.clockSkewMs !== undefined && { clockSkewMs: o.clockSkewMs }),
      ...(o?.rtsp && { codec: o.rtsp.codec }),
      ...(o?.rtsp?.width !== undefined && { width: o.rtsp.width, height: o.rtsp.height }),
    };
  }

  private inventoryOf(o: ProbeOutcome): CameraInventory | undefined {
    const strip = (uri: string | undefined) => (uri === undefined ? undefined : stripUriSecrets(uri, this.secrets));
    if (o.source === 'rtsp') {
      // Without ONVIF the inventory is what is configured, reported once the camera answered.
      if (!o.rtsp && !o.snapshot) return undefined;
      const streamUri = strip(this.config.rtspUrl);
      const snapshotUri = strip(this.config.snapshotUrl);
      return { source: 'rtsp', profiles: [], ...(streamUri !== undefined && { streamUri }), ...(snapshotUri !== undefined && { snapshotUri }) };
    }
    if (!o.device || !o.profiles) return undefined;
    const inv: CameraInventory = {
      source: 'onvif',
      ...(o.device.manufacturer !== undefined && { manufacturer: o.device.manufacturer }),
      ...(o.device.model !== undefined && { model: o.device.model }),
      ...(o.device.firmwareVersion !== undefined && { firmware: o.device.firmwareVersion }),
      ...(o.device.serialNumber !== undefined && { serial: o.device.serialNumber }),
      ...(o.device.hardwareId !== undefined && { hardwareId: o.device.hardwareId }),
      profiles: o.profiles.slice(0, MAX_PROFILES).map((p) => {
        const streamUri = strip(this.memory.streamUris.get(p.token));
        return { ...p, ...(streamUri !== undefined && { streamUri }) };
      }),
    };
    const snapshotUri = strip(this.memory.snapshotUri);
    if (snapshotUri !== undefined) inv.snapshotUri = snapshotUri;
    return inv;
  }
}
