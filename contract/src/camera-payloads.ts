import * as z from 'zod';
import { GatewayId } from './payloads.js';

/**
 * What a gateway tells the centre about its cameras. Three paths, by what the data is:
 * - Changes (state, inventory, a discovered camera) are events on the sequenced `events` stream,
 *   durable in the outbox and forwarded ahead of telemetry: `camera.*` types below.
 * - The current state of every camera is a retained CamerasStatusMessage on the `cameras`
 *   channel: a consumer that starts late reads it at once.
 * - Thumbnails are best-effort CameraThumbnailMessages on `cameras/thumbnail`, one camera per
 *   message and never in the outbox, so a picture can neither delay an alarm nor fill the buffer.
 * No payload ever carries a credential: URIs are stripped of user info and secret-looking
 * query parameters before they leave the prober.
 */

/**
 * `misconfigured`: the gateway cannot probe the camera as configured (its password file cannot
 * be read, its entry cannot be used); only that camera is affected, and it is probed again once
 * the entry works (a fixed file is read at the next probe).
 */
export const CAMERA_STATES = ['online', 'degraded', 'unauthorized', 'unreachable', 'misconfigured'] as const;
export type CameraState = (typeof CAMERA_STATES)[number];

/**
 * Why a camera is not simply online. `degraded` carries one or more of the media and clock
 * reasons; `unauthorized`, `unreachable` and `misconfigured` carry the one that applies.
 */
export const CameraReason = {
  /** RTSP refused, timed out or answered DESCRIBE with an error status. */
  rtspDown: 'rtsp-down',
  /** DESCRIBE answered, but the SDP has no usable video stream. */
  rtspInvalid: 'rtsp-invalid',
  /** SETUP/PLAY worked but no complete video frame arrived in time (rtsp: frame). */
  rtspNoFrames: 'rtsp-no-frames',
  /** The snapshot could not be fetched (refused, timed out, HTTP error, too big). */
  snapshotUnavailable: 'snapshot-unavailable',
  /** The snapshot is not a JPEG that decodes. */
  snapshotInvalid: 'snapshot-invalid',
  /** The snapshot has been byte-identical several fetches in a row: the picture is frozen. */
  snapshotStale: 'snapshot-stale',
  /** The camera clock is off by more than the tolerance (requests still work: they are signed with the camera's time). */
  clockSkew: 'clock-skew',
  /** The media service lists no profile (or not the configured one): nothing to stream. */
  noProfiles: 'no-profiles',
  /** The ONVIF service answers with malformed, unexpected or oversized SOAP. */
  onvifMalformed: 'onvif-malformed',
  /** Unreachable: no answer within the timeout. */
  timeout: 'timeout',
  /** Unreachable: connection refused, reset, or no route. */
  connect: 'connect',
  /** Unauthorized: which service rejected the credentials. */
  onvifAuth: 'onvif-auth',
  rtspAuth: 'rtsp-auth',
  snapshotAuth: 'snapshot-auth',
  /** Misconfigured: the password file of the camera's credentials cannot be read. */
  credentialsUnreadable: 'credentials-unreadable',
  /** Misconfigured: the camera's entry cannot be used (e.g. a URL the probe cannot use). */
  invalidConfig: 'invalid-config',
} as const;
export type CameraReason = (typeof CameraReason)[keyof typeof CameraReason];

export const CameraEventType = {
  online: 'camera.online',
  degraded: 'camera.degraded',
  unauthorized: 'camera.unauthorized',
  unreachable: 'camera.unreachable',
  misconfigured: 'camera.misconfigured',
  /** Inventory (model, firmware, profiles, URIs) first seen or changed. */
  inventory: 'camera.inventory',
  /** WS-Discovery found a device not in the configuration: untrusted until accepted in the registry. */
  discovered: 'camera.discovered',
} as const;

const EpochMs = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const SignedMs = z.int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
/** Camera ids: configuration ids, also used in topics and the registry's records. */
export const CAMERA_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CameraId = z.string().regex(CAMERA_ID, 'expected a camera id (letters, digits, ".", "_", "-")');
const CameraStateSchema = z.enum(CAMERA_STATES);
const Dimension = z.int().min(1).max(16_384);
/** Text a camera reports (model, firmware, profile names): accepted up to 1 KiB; receivers may cut it. */
const Text = (max = 1024) => z.string().max(max);
/** Reasons as sent; a receiver keeps the ones it knows (a newer agent may add some). */
const Reasons = z.array(z.string().max(64)).max(32);
const Uri = z.string().max(2048);

/** `data` of the camera.online / degraded / unauthorized / unreachable / misconfigured events (`dev` is the camera id). */
export const CameraStateEventData = z.object({
  state: CameraStateSchema,
  previous: z.union([CameraStateSchema, z.literal('unknown')]).default('unknown'),
  reasons: Reasons,
  /** Error code behind the state, e.g. EDGE_CAMERA_TIMEOUT (EDGE_CAMERA_CONFIG when misconfigured). */
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/).optional(),
  /** Misconfigured: what is wrong, for the technician (a config path and the problem; never a secret). */
  detail: Text(2000).optional(),
  /** Camera clock minus gateway clock, ms, when measured. */
  clockSkewMs: SignedMs.optional(),
});
export type CameraStateEventData = z.infer<typeof CameraStateEventData>;

export const CameraProfileInfo = z.object({
  token: Text(256),
  name: Text().optional(),
  /** Video encoding, e.g. JPEG, H264, H265. */
  encoding: Text(64).optional(),
  width: Dimension.optional(),
  height: Dimension.optional(),
  fps: z.number().min(0).max(1000).optional(),
  /** RTSP URI without credentials. */
  streamUri: Uri.optional(),
});
export type CameraProfileInfo = z.infer<typeof CameraProfileInfo>;

/**
 * `data` of camera.inventory. The agent caps strings at 128 characters and profiles at 8. A camera
 * probed without ONVIF (`source: 'rtsp'`) has no device information or profiles: its inventory
 * is the configured stream and snapshot URIs.
 */
export const CameraInventory = z.object({
  /** How the camera is probed; absent (agents before cameras without ONVIF) means onvif. */
  source: z.enum(['onvif', 'rtsp']).optional(),
  manufacturer: Text().optional(),
  model: Text().optional(),
  firmware: Text().optional(),
  serial: Text().optional(),
  hardwareId: Text().optional(),
  profiles: z.array(CameraProfileInfo).max(64),
  /** Camera without ONVIF: the configured RTSP URI, without credentials. */
  streamUri: Uri.optional(),
  /** Snapshot URI of the checked profile (or the configured one), without credentials. */
  snapshotUri: Uri.optional(),
});
export type CameraInventory = z.infer<typeof CameraInventory>;

/** `data` of camera.discovered. */
export const CameraDiscoveredData = z.object({
  /** WS-Addressing EndpointReference, stable per device (urn:uuid:...). */
  epr: z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces'),
  xaddrs: z.array(Uri).max(16),
  scopes: z.array(Text()).max(64),
  types: z.array(Text(512)).max(32),
  /** From the onvif://www.onvif.org/name/, /hardware/ and /location/ scopes. */
  name: Text().optional(),
  hardware: Text().optional(),
  location: Text().optional(),
  /** Address the ProbeMatch came from. */
  from: Text(256),
});
export type CameraDiscoveredData = z.infer<typeof CameraDiscoveredData>;

/** One camera in the retained status. */
export const CameraStatusEntry = z.object({
  id: CameraId,
  state: CameraStateSchema,
  reasons: Reasons,
  /** When the current state began (ms since the epoch). */
  since: EpochMs,
  /** When the camera was last probed. */
  checkedAt: EpochMs,
  /** Misconfigured: what is wrong (as in the camera.misconfigured event). */
  detail: Text(2000).optional(),
  clockSkewMs: SignedMs.optional(),
  /** From the SDP of the checked stream. */
  codec: Text(64).optional(),
  width: Dimension.optional(),
  height: Dimension.optional(),
});
export type CameraStatusEntry = z.infer<typeof CameraStatusEntry>;

/** Retained on `{prefix}/{gw}/cameras`: the current state of every configured camera. */
export const CamerasStatusMessage = z.object({ v: z.literal(1), gw: GatewayId, ts: EpochMs, cameras: z.array(CameraStatusEntry).max(5000) });
export type CamerasStatusMessage = z.infer<typeof CamerasStatusMessage>;

/** Published on `{prefix}/{gw}/cameras/thumbnail`, best effort, one camera per message. */
export const CameraThumbnailMessage = z.object({
  v: z.literal(1),
  gw: GatewayId,
  cam: CameraId,
  ts: EpochMs,
  mime: z.literal('image/jpeg'),
  width: Dimension,
  height: Dimension,
  /** Base64 JPEG, at most the configured thumbnail.maxBytes characters. */
  data: z.string().min(8).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64'),
});
export type CameraThumbnailMessage = z.infer<typeof CameraThumbnailMessage>;

/**
 * Severity of a state-change event: unreachable, degraded and misconfigured are warnings, like a
 * Modbus device going offline; unauthorized is an alarm, since credentials that stop working on
 * one camera are as likely tampering as a rotated password.
 */
export function cameraStateSeverity(state: CameraState): 'info' | 'warning' | 'alarm' {
  return state === 'online' ? 'info' : state === 'unauthorized' ? 'alarm' : 'warning';
}

export function encodeCamerasStatus(msg: CamerasStatusMessage): string {
  return JSON.stringify({ v: msg.v, gw: msg.gw, ts: msg.ts, cameras: msg.cameras });
}

export function encodeCameraThumbnail(msg: CameraThumbnailMessage): string {
  const { v, gw, cam, ts, mime, width, height, data } = msg;
  return JSON.stringify({ v, gw, cam, ts, mime, width, height, data });
}
