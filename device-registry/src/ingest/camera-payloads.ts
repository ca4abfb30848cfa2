import { z } from 'zod';
import {
  CAMERA_STATES,
  CameraEventType,
  CameraReason,
  type CameraDiscoveredData,
  type CameraInventory,
  type CameraProfileInfo,
  type CameraStateEventData,
  type CamerasStatusMessage,
  type CameraStatusEntry,
  type CameraThumbnailMessage,
} from '@cityedge/contract';
import { stripUriSecrets } from '../security/uri-secrets.js';

/**
 * Runtime checks of the camera payloads gateways publish (contract camera-payloads.ts), typed
 * against the contract so a change there breaks the build here. Strings are capped, unknown
 * reasons dropped and every URI stripped of credentials again: the registry trusts nothing a
 * gateway sends to be clean.
 */

const gatewayId = z.string().min(1).max(63);
const epochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const CAMERA_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const cameraId = z.string().regex(CAMERA_ID);
/** A string of at most `accept` characters, kept to its first `keep`. */
const capped = (keep: number, accept = 1024) => z.string().max(accept).transform((s) => s.slice(0, keep));
const dimension = z.number().int().min(1).max(16_384);
const KNOWN_REASONS: ReadonlySet<string> = new Set(Object.values(CameraReason));
const reasons = z
  .array(z.string().max(64))
  .max(32)
  .transform((rs) => [...new Set(rs.filter((r): r is CameraReason => KNOWN_REASONS.has(r)))]);
const cameraState = z.enum(CAMERA_STATES);
/** An absolute URI with its user info and secret-looking parameters removed; undefined when unusable. */
const safeUri = z
  .string()
  .max(2048)
  .transform((u) => stripUriSecrets(u));

export const CameraStatusEntrySchema = z.object({
  id: cameraId,
  state: cameraState,
  reasons,
  since: epochMs,
  checkedAt: epochMs,
  clockSkewMs: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
  codec: capped(32, 64).optional(),
  width: dimension.optional(),
  height: dimension.optional(),
}) satisfies z.ZodType<CameraStatusEntry, unknown>;

export const CamerasStatusMessageSchema = z.object({
  v: z.literal(1),
  gw: gatewayId,
  ts: epochMs,
  cameras: z.array(CameraStatusEntrySchema).max(5000),
}) satisfies z.ZodType<CamerasStatusMessage, unknown>;

export const CameraStateEventDataSchema = z.object({
  state: cameraState,
  previous: z.union([cameraState, z.literal('unknown')]).optional().default('unknown'),
  reasons,
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/).optional(),
  clockSkewMs: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
}) satisfies z.ZodType<CameraStateEventData, unknown>;

const ProfileSchema = z.object({
  token: capped(64, 256),
  name: capped(128).optional(),
  encoding: capped(32, 64).optional(),
  width: dimension.optional(),
  height: dimension.optional(),
  fps: z.number().min(0).max(1000).optional(),
  streamUri: safeUri.optional(),
});

export const CameraInventorySchema = z
  .object({
    /** onvif, or rtsp for a camera probed by its configured URLs alone (no device information, no profiles). */
    source: z.enum(['onvif', 'rtsp']).optional(),
    manufacturer: capped(128).optional(),
    model: capped(128).optional(),
    firmware: capped(128).optional(),
    serial: capped(128).optional(),
    hardwareId: capped(128).optional(),
    profiles: z.array(ProfileSchema).max(64),
    streamUri: safeUri.optional(),
    snapshotUri: safeUri.optional(),
  })
  .transform((inv): CameraInventory => {
    const profiles = inv.profiles.slice(0, 8).map((p): CameraProfileInfo => {
      const { streamUri, ...rest } = p;
      return { ...dropUndefined(rest), ...(streamUri !== undefined && { streamUri }) };
    });
    const { snapshotUri, streamUri, profiles: _p, ...rest } = inv;
    return { ...dropUndefined(rest), profiles, ...(streamUri !== undefined && { streamUri }), ...(snapshotUri !== undefined && { snapshotUri }) };
  });

export const CameraDiscoveredDataSchema = z
  .object({
    epr: z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces'),
    xaddrs: z.array(z.string().max(1024)).max(16),
    scopes: z.array(capped(256, 1024)).max(64),
    types: z.array(capped(128, 512)).max(32),
    name: capped(128).optional(),
    hardware: capped(128).optional(),
    location: capped(128).optional(),
    from: capped(64, 256),
  })
  .transform(
    (d): CameraDiscoveredData => ({
      ...dropUndefined(d),
      xaddrs: d.xaddrs.map((x) => stripUriSecrets(x)).filter((x): x is string => x !== undefined),
      scopes: d.scopes.slice(0, 32),
      types: d.types.slice(0, 16),
    }),
  );

/** The envelope of `{prefix}/{gw}/events`: events are checked one by one, so one bad event does not drop the others. */
export const EventsEnvelopeSchema = z.object({
  v: z.literal(1),
  gw: gatewayId,
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  events: z.array(z.unknown()).max(100_000),
});

const EventBaseSchema = z.object({
  type: z.string().min(1).max(64),
  ts: epochMs,
  dev: cameraId.optional(),
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
  return z
    .object({
      v: z.literal(1),
      gw: gatewayId,
      cam: cameraId,
      ts: epochMs,
      mime: z.literal('image/jpeg'),
      width: dimension,
      height: dimension,
      data: z
        .string()
        .min(8)
        .max(maxBase64)
        .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64'),
    })
    .refine((m) => looksLikeJpeg(Buffer.from(m.data, 'base64')), { message: 'data is not a JPEG (SOI/EOI markers)', path: ['data'] }) satisfies z.ZodType<CameraThumbnailMessage, unknown>;
}

export function looksLikeJpeg(b: Buffer): boolean {
  return b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;
}

function bad(error: z.ZodError, prefix?: string): { ok: false; ignored: false; problem: string } {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter((p) => p !== undefined && p !== '').join('.');
  return { ok: false, ignored: false, problem: `${path || '(root)'}: ${issue?.message ?? 'invalid'}` };
}

function dropUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
