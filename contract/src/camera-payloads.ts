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

/** `data` of the camera.online / degraded / unauthorized / unreachable events (`dev` is the camera id). */
export interface CameraStateEventData {
  state: CameraState;
  previous: CameraState | 'unknown';
  reasons: CameraReason[];
  /** Error code behind the state, e.g. EDGE_CAMERA_TIMEOUT (EDGE_CAMERA_CONFIG when misconfigured). */
  code?: string;
  /** Misconfigured: what is wrong, for the technician (a config path and the problem; never a secret). */
  detail?: string;
  /** Camera clock minus gateway clock, ms, when measured. */
  clockSkewMs?: number;
}

export interface CameraProfileInfo {
  token: string;
  name?: string;
  /** Video encoding, e.g. JPEG, H264, H265. */
  encoding?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** RTSP URI without credentials. */
  streamUri?: string;
}

/**
 * `data` of camera.inventory. Strings are capped at 128 characters, profiles at 8. A camera
 * probed without ONVIF (`source: 'rtsp'`) has no device information or profiles: its inventory
 * is the configured stream and snapshot URIs.
 */
export interface CameraInventory {
  /** How the camera is probed; absent (agents before cameras without ONVIF) means onvif. */
  source?: 'onvif' | 'rtsp';
  manufacturer?: string;
  model?: string;
  firmware?: string;
  serial?: string;
  hardwareId?: string;
  profiles: CameraProfileInfo[];
  /** Camera without ONVIF: the configured RTSP URI, without credentials. */
  streamUri?: string;
  /** Snapshot URI of the checked profile (or the configured one), without credentials. */
  snapshotUri?: string;
}

/** `data` of camera.discovered. */
export interface CameraDiscoveredData {
  /** WS-Addressing EndpointReference, stable per device (urn:uuid:...). */
  epr: string;
  xaddrs: string[];
  scopes: string[];
  types: string[];
  /** From the onvif://www.onvif.org/name/, /hardware/ and /location/ scopes. */
  name?: string;
  hardware?: string;
  location?: string;
  /** Address the ProbeMatch came from. */
  from: string;
}

/** One camera in the retained status. */
export interface CameraStatusEntry {
  id: string;
  state: CameraState;
  reasons: CameraReason[];
  /** When the current state began (ms since the epoch). */
  since: number;
  /** When the camera was last probed. */
  checkedAt: number;
  /** Misconfigured: what is wrong (as in the camera.misconfigured event). */
  detail?: string;
  clockSkewMs?: number;
  /** From the SDP of the checked stream. */
  codec?: string;
  width?: number;
  height?: number;
}

/** Retained on `{prefix}/{gw}/cameras`: the current state of every configured camera. */
export interface CamerasStatusMessage {
  v: 1;
  gw: string;
  ts: number;
  cameras: CameraStatusEntry[];
}

/** Published on `{prefix}/{gw}/cameras/thumbnail`, best effort, one camera per message. */
export interface CameraThumbnailMessage {
  v: 1;
  gw: string;
  cam: string;
  ts: number;
  mime: 'image/jpeg';
  width: number;
  height: number;
  /** Base64 JPEG, at most the configured thumbnail.maxBytes characters. */
  data: string;
}

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
