import * as z from 'zod';
import {
  CAMERA_ID,
  CAMERA_STATES,
  CameraDiscoveredData,
  CameraEventType,
  CameraInventory,
  CameraReason,
  CameraStateEventData,
  CamerasStatusMessage,
  CameraStatusEntry,
  CameraThumbnailMessage,
  type CameraProfileInfo,
} from '@cityedge/contract';
import { stripUriSecrets } from '../security/uri-secrets.js';

/**
 * The camera payloads gateways publish, read with the contract's schemas
 * (contract/src/camera-payloads.ts) and then made safe to keep: strings cut to what the
 * registry stores, reasons it does not know dropped, and every URI stripped of credentials
 * again: the registry trusts nothing a gateway sends to be clean.
 */

export { CAMERA_ID };
const epochMs = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const KNOWN_REASONS: ReadonlySet<string> = new Set(Object.values(CameraReason));
const knownReasons = (rs: readonly string[]): CameraReason[] => [...new Set(rs.filter((r): r is CameraReason => KNOWN_REASONS.has(r)))];
const cut = (s: string | undefined, keep: number) => (s === undefined ? undefined : s.slice(0, keep));

export const CameraStatusEntrySchema = CameraStatusEntry.transform((e) => dropUndefined({ ...e, reasons: knownReasons(e.reasons), codec: cut(e.codec, 32), detail: cut(e.detail, 500) }));

export const CamerasStatusMessageSchema = CamerasStatusMessage.extend({ cameras: z.array(CameraStatusEntrySchema).max(5000) });

export const CameraStateEventDataSchema = CameraStateEventData.transform((d) => dropUndefined({ ...d, reasons: knownReasons(d.reasons), detail: cut(d.detail, 500) }));

export const CameraInventorySchema = CameraInventory.transform((inv): CameraInventory => {
  const profiles = inv.profiles.slice(0, 8).map(
    (p): CameraProfileInfo => dropUndefined({ ...p, token: p.token.slice(0, 64), name: cut(p.name, 128), encoding: cut(p.encoding, 32), streamUri: p.streamUri === undefined ? undefined : stripUriSecrets(p.streamUri) }),
  );
  const text = (v: string | undefined) => cut(v, 128);
  return dropUndefined({
    source: inv.source,
    manufacturer: text(inv.manufacturer),
    model: text(inv.model),
    firmware: text(inv.firmware),
    serial: text(inv.serial),
    hardwareId: text(inv.hardwareId),
    profiles,
    streamUri: inv.streamUri === undefined ? undefined : stripUriSecrets(inv.streamUri),
    snapshotUri: inv.snapshotUri === undefined ? undefined : stripUriSecrets(inv.snapshotUri),
  });
});

export const CameraDiscoveredDataSchema = CameraDiscoveredData.transform(
  (d): CameraDiscoveredData =>
    dropUndefined({
      ...d,
      name: cut(d.name, 128),
      hardware: cut(d.hardware, 128),
      location: cut(d.location, 128),
      from: d.from.slice(0, 64),
      xaddrs: d.xaddrs.map((x) => stripUriSecrets(x)).filter((x): x is string => x !== undefined),
      scopes: d.scopes.slice(0, 32).map((x) => x.slice(0, 256)),
      types: d.types.slice(0, 16).map((x) => x.slice(0, 128)),
    }),
);

/** The envelope of `{prefix}/{gw}/events`: events are checked one by one, so one bad event does not drop the others. */
const EventBaseSchema = z.object({
  type: z.string().min(1).max(64),
  ts: epochMs,
  dev: z.string().regex(CAMERA_ID).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

/** A camera event as the registry uses it. */
export type CameraEvent =
  | { kind: 'state'; cameraId: string; ts: number; data: CameraStateEventData }
  | { kind: 'inventory'; cameraId: string; ts: number; inventory: CameraInventory }
  | { kind: 'discovered'; ts: number; data: CameraDiscoveredData };

const STATE_TYPES: ReadonlySet<string> = new Set(CAMERA_STATES.map((s) => CameraEventType[s]));

/**
 * Classifies one element of an events message: `ignored` for events that are not about cameras,
 * `malformed` (with the problem) for a camera event of the wrong shape.
 */
export function parseCameraEvent(raw: unknown): { ok: true; event: CameraEvent } | { ok: false; ignored: true } | { ok: false; ignored: false; problem: string } {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !type.startsWith('camera.')) return { ok: false, ignored: true };
  const base = EventBaseSchema.safeParse(raw);
  if (!base.success) return bad(base.error);
  const { ts, dev, data } = base.data;
  if (STATE_TYPES.has(type)) {
    if (dev === undefined) return { ok: false, ignored: false, problem: 'dev: a camera state event names its camera' };
    const d = CameraStateEventDataSchema.safeParse(data);
    if (!d.success) return bad(d.error, 'data');
    if (CameraEventType[d.data.state] !== type) return { ok: false, ignored: false, problem: `data.state "${d.data.state}" does not match type "${type}"` };
    return { ok: true, event: { kind: 'state', cameraId: dev, ts, data: d.data } };
  }
  if (type === CameraEventType.inventory) {
    if (dev === undefined) return { ok: false, ignored: false, problem: 'dev: an inventory event names its camera' };
    const d = CameraInventorySchema.safeParse(data);
    return d.success ? { ok: true, event: { kind: 'inventory', cameraId: dev, ts, inventory: d.data } } : bad(d.error, 'data');
  }
  if (type === CameraEventType.discovered) {
    const d = CameraDiscoveredDataSchema.safeParse(data);
    return d.success ? { ok: true, event: { kind: 'discovered', ts, data: d.data } } : bad(d.error, 'data');
  }
  // A camera event type this registry does not know yet (a newer agent): not an error.
  return { ok: false, ignored: true };
}

/**
 * A thumbnail message whose `data` is base64 of at most `maxBase64` characters and decodes to
 * something that starts and ends like a JPEG (SOI ... EOI).
 */
export function thumbnailSchema(maxBase64: number) {
  return CameraThumbnailMessage.extend({ data: CameraThumbnailMessage.shape.data.max(maxBase64) }).refine((m) => looksLikeJpeg(Buffer.from(m.data, 'base64')), { message: 'data is not a JPEG (SOI/EOI markers)', path: ['data'] });
}

export function looksLikeJpeg(b: Buffer): boolean {
  return b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;
}

function bad(error: z.ZodError, prefix?: string): { ok: false; ignored: false; problem: string } {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter((p) => p !== undefined && p !== '').join('.');
  return { ok: false, ignored: false, problem: `${path || '(root)'}: ${issue?.message ?? 'invalid'}` };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
