import { CameraReason } from '@cityedge/contract';
import type { CameraClient, JpegDecoder, MediaClient } from '@cityedge/drivers/camera';
import { checkMedia } from './media-checks.js';
import { kindOf, OutcomeBuilder, type ProbeMemory, type ProbeOutcome, type ProbeSettings } from './probe-outcome.js';

export type { ProbeMemory, ProbeOutcome, ProbeSettings } from './probe-outcome.js';

/** Stream URIs fetched for the inventory beyond the checked profile. */
const MAX_PROFILES = 8;

/**
 * One probe of one ONVIF camera: ONVIF (clock first, then device information, profiles, stream
 * and snapshot URIs), then the stream (RTSP) and the snapshot (a JPEG that decodes and is fresh)
 * in parallel. Never throws: every failure becomes a state with reasons.
 * - no answer / refused (ONVIF) -> unreachable (timeout | connect)
 * - credentials refused anywhere -> unauthorized (onvif-auth | rtsp-auth | snapshot-auth)
 * - malformed, oversized or faulting SOAP -> degraded (onvif-malformed); the stream and snapshot
 *   are still checked with the URIs of the last good probe
 * - media and clock problems -> degraded with their reasons; none -> online
 */
export async function probeCamera(client: CameraClient, settings: ProbeSettings, memory: ProbeMemory, decoder: JpegDecoder, now: () => number = Date.now): Promise<ProbeOutcome> {
  const b = new OutcomeBuilder('onvif');
  const out = b.out;
  let streamUri: string | undefined;
  let snapshotUri: string | undefined;
  try {
    const clock = await client.getSystemDateAndTime();
    out.clockSkewMs = clock.skewMs;
    if (Math.abs(clock.skewMs) > settings.clockSkewToleranceMs) b.reasons.add(CameraReason.clockSkew);
    const device = await client.getDeviceInformation();
    const profiles = await client.getProfiles();
    const profile = settings.profileToken === undefined ? profiles[0] : profiles.find((p) => p.token === settings.profileToken);
    if (!profile) {
      b.reasons.add(CameraReason.noProfiles);
    } else {
      out.checkedProfile = profile.token;
      streamUri = await client.getStreamUri(profile.token);
      if (settings.snapshot) snapshotUri = await client.getSnapshotUri(profile.token);
      const key = profiles.map((p) => p.token).join('\n');
      if (memory.profileKey !== key) {
        memory.streamUris.clear();
        for (const p of profiles.slice(0, MAX_PROFILES)) if (p.token !== profile.token) memory.streamUris.set(p.token, await client.getStreamUri(p.token));
        memory.profileKey = key;
      }
      memory.streamUris.set(profile.token, streamUri);
      memory.snapshotUri = snapshotUri;
    }
    out.device = device;
    out.profiles = profiles;
  } catch (err) {
    const k = kindOf(err);
    b.note(k.code, k.message);
    if (k.kind === 'unreachable') return b.finish('unreachable', [k.code === 'EDGE_CAMERA_TIMEOUT' ? CameraReason.timeout : CameraReason.connect]);
    if (k.kind === 'unauthorized') return b.finish('unauthorized', [CameraReason.onvifAuth]);
    b.reasons.add(CameraReason.onvifMalformed);
    delete out.device;
    delete out.profiles;
    // Keep checking what an operator sees, with what the last good probe learned.
    const last = settings.profileToken ?? [...memory.streamUris.keys()][0];
    streamUri = last === undefined ? undefined : memory.streamUris.get(last);
    snapshotUri = settings.snapshot ? memory.snapshotUri : undefined;
  }

  const media = await checkMedia(client, { stream: streamUri, snapshot: snapshotUri }, settings, memory, decoder, now, b);
  if (media.auth.length > 0) return b.finish('unauthorized', media.auth);
  return b.finishMedia();
}

/**
 * One probe of a camera without ONVIF (or with ONVIF switched off): its configured RTSP URL
 * and, when given, its snapshot URL. The same states as an ONVIF camera, decided by these:
 * - every check finds nobody answering -> unreachable (timeout | connect, of the first check)
 * - credentials refused by either -> unauthorized (rtsp-auth | snapshot-auth)
 * - a configured URL the probe cannot use -> misconfigured (invalid-config)
 * - otherwise degraded with the media reasons (a dark RTSP port with a working snapshot is
 *   rtsp-down, as for an ONVIF camera), or online. Never throws.
 */
export async function probeRtspCamera(
  client: MediaClient,
  uris: { stream: string | undefined; snapshot: string | undefined },
  settings: ProbeSettings,
  memory: ProbeMemory,
  decoder: JpegDecoder,
  now: () => number = Date.now,
): Promise<ProbeOutcome> {
  const b = new OutcomeBuilder('rtsp');
  const media = await checkMedia(client, uris, settings, memory, decoder, now, b);
  const unusable = media.unusableUri[0];
  if (unusable !== undefined) {
    b.out.code = 'EDGE_CAMERA_CONFIG';
    b.out.detail = unusable;
    return b.finish('misconfigured', [CameraReason.invalidConfig]);
  }
  const first = media.unreachable[0];
  if (first && media.unreachable.length === media.attempted) return b.finish('unreachable', [first.code === 'EDGE_CAMERA_TIMEOUT' ? CameraReason.timeout : CameraReason.connect]);
  if (media.auth.length > 0) return b.finish('unauthorized', media.auth);
  return b.finishMedia();
}
