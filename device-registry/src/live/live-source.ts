import type { CameraInventory, CameraProfileInfo } from '@cityedge/contract';
import { invalid, notFound, RegistryError } from '../errors.js';
import { stripUriSecrets } from '../security/uri-secrets.js';
import type { RegistryServices } from '../service/registry-services.js';

/** What a relay pulls: the RTSP URL with credentials (kept in memory, never sent or logged) and the picture size it sends. */
export interface LiveSource {
  gatewayId: string;
  cameraId: string;
  profileToken: string;
  /** rtsp://user:password@host:port/path: for ffmpeg only. */
  url: string;
  /** The same without credentials: for logs and answers. */
  displayUrl: string;
  /** Output picture size (MPEG-1, even numbers). */
  width: number;
  height: number;
  /** Values to mask in anything ffmpeg says. */
  secrets: string[];
}

/** Widest picture relayed: larger streams are scaled down (MPEG-1 in a browser, encoded on the registry's CPU). */
const MAX_WIDTH = 1280;
/** Size when neither the inventory nor the status gives one. */
const FALLBACK = { width: 640, height: 360 };

/**
 * The RTSP source of a camera's live view: the stream URI from the gateway's inventory (the
 * newest reported, or the one on the camera record), the credentials from the registry's camera
 * record (password unsealed here, only in memory). Throws REG_NOT_FOUND (no such camera),
 * REG_VALIDATION (unknown profile) or REG_LIVE_NO_STREAM (no usable URI reported yet).
 */
export async function resolveLiveSource(services: RegistryServices, gatewayId: string, cameraId: string, profileToken?: string): Promise<LiveSource> {
  const { store } = services;
  if (!(await store.gateways.get(gatewayId))) throw notFound('gateway', gatewayId);
  const [record, status] = await Promise.all([store.inventory.getCamera(gatewayId, cameraId), store.cameraStatus.get(gatewayId, cameraId)]);
  if (!record && !status) throw notFound('camera', cameraId);
  const inventory = (status?.inventory ?? (record?.inventory as CameraInventory | null | undefined) ?? null) as CameraInventory | null;
  const profiles = Array.isArray(inventory?.profiles) ? inventory.profiles : [];
  let profile: CameraProfileInfo | undefined;
  if (profileToken !== undefined) {
    profile = profiles.find((p) => p.token === profileToken);
    if (!profile) throw invalid('body.profile', `camera "${cameraId}" has no profile "${profileToken}" in its reported inventory (${profiles.map((p) => p.token).join(', ') || 'none'})`);
  } else {
    profile = profiles.find((p) => typeof p.streamUri === 'string');
  }
  const noStream = (why: string) => new RegistryError('REG_LIVE_NO_STREAM', `camera "${cameraId}" on gateway "${gatewayId}": ${why}`);
  if (!profile || typeof profile.streamUri !== 'string') throw noStream('the gateway has not reported a stream URI for it yet (camera.inventory)');
  let u: URL;
  try {
    u = new URL(profile.streamUri);
  } catch {
    throw noStream('the reported stream URI is not a URI');
  }
  if (u.protocol !== 'rtsp:' && u.protocol !== 'rtsps:') throw noStream(`the reported stream URI is ${u.protocol} and live view relays RTSP only`);
  if (u.search.includes('***')) throw noStream('the reported stream URI had secret parameters the gateway masked; live view cannot use it');
  const displayUrl = stripUriSecrets(u.toString()) ?? `${u.protocol}//${u.host}`;
  const password = record?.username ? await services.cameras.password(gatewayId, cameraId) : null;
  u.username = '';
  u.password = '';
  if (record?.username) {
    // Fully percent-encoded ("%" and "@" included): ffmpeg decodes user info before it authenticates.
    u.username = encodeURIComponent(record.username);
    if (password) u.password = encodeURIComponent(password);
  }
  const size = outputSize(profile.width ?? status?.width ?? undefined, profile.height ?? status?.height ?? undefined);
  return { gatewayId, cameraId, profileToken: profile.token, url: u.toString(), displayUrl, ...size, secrets: [password].filter((s): s is string => !!s) };
}

/** Even dimensions no wider than MAX_WIDTH, keeping the aspect ratio; the fallback size when unknown. */
export function outputSize(width: number | undefined, height: number | undefined): { width: number; height: number } {
  if (!width || !height || width < 16 || height < 16) return { ...FALLBACK };
  const scale = Math.min(1, MAX_WIDTH / width);
  const even = (n: number) => Math.max(16, 2 * Math.round((n * scale) / 2));
  return { width: even(width), height: even(height) };
}
