import { CameraReason, type CameraState, type RtspCheck } from '@cityedge/contract';
import {
  CameraError,
  jpegHash,
  type CameraClient,
  type DeviceInformation,
  type JpegDecoder,
  type MediaProfile,
  type SnapshotAnalysis,
  type SnapshotFreshness,
} from '@cityedge/drivers';

export interface ProbeSettings {
  /** Profile to check; default the first. */
  profileToken: string | undefined;
  rtsp: RtspCheck;
  snapshot: boolean;
  clockSkewToleranceMs: number;
  maxMegapixels: number;
  /** Set when this probe should also make a thumbnail. */
  thumbnail: { maxWidth: number; maxBase64Bytes: number } | undefined;
}

/** What one camera's probes remember between runs. URIs here are raw (may hold secrets): memory only, never logged. */
export interface ProbeMemory {
  streamUris: Map<string, string>;
  /** Profile tokens the stream URIs belong to, to notice a changed profile list. */
  profileKey: string | undefined;
  snapshotUri: string | undefined;
  freshness: SnapshotFreshness;
  lastSnapshot: { hash: string; analysis: SnapshotAnalysis } | undefined;
}

export interface ProbeOutcome {
  state: CameraState;
  reasons: CameraReason[];
  /** Error code behind the state (first one met). */
  code?: string;
  /** Error message behind the state, for logs (never contains a URI). */
  detail?: string;
  clockSkewMs?: number;
  /** Present when ONVIF answered in full this time. */
  device?: DeviceInformation;
  profiles?: MediaProfile[];
  checkedProfile?: string;
  rtsp?: { codec: string; width?: number; height?: number };
  snapshot?: { width: number; height: number; bytes: number; changed: boolean };
  thumbnail?: { width: number; height: number; base64: string };
}

/** Reasons in the order they are reported. */
const ORDER: CameraReason[] = Object.values(CameraReason);
/** Stream URIs fetched for the inventory beyond the checked profile. */
const MAX_PROFILES = 8;

type Kind = 'unreachable' | 'unauthorized' | 'malformed';

function kindOf(err: unknown): { kind: Kind; code: string; message: string } {
  const e = err instanceof CameraError ? err : new CameraError('EDGE_CAMERA_BAD_RESPONSE', 'unexpected failure', { cause: err });
  const kind: Kind = e.code === 'EDGE_CAMERA_TIMEOUT' || e.code === 'EDGE_CAMERA_CONNECT' ? 'unreachable' : e.code === 'EDGE_CAMERA_UNAUTHORIZED' ? 'unauthorized' : 'malformed';
  return { kind, code: e.code, message: e.message };
}

/**
 * One probe of one camera: ONVIF (clock first, then device information, profiles, stream and
 * snapshot URIs), then the stream (RTSP) and the snapshot (a JPEG that decodes and is fresh) in
 * parallel. Never throws: every failure becomes a state with reasons.
 * - no answer / refused (ONVIF) -> unreachable (timeout | connect)
 * - credentials refused anywhere -> unauthorized (onvif-auth | rtsp-auth | snapshot-auth)
 * - malformed, oversized or faulting SOAP -> degraded (onvif-malformed); the stream and snapshot
 *   are still checked with the URIs of the last good probe
 * - media and clock problems -> degraded with their reasons; none -> online
 */
export async function probeCamera(client: CameraClient, settings: ProbeSettings, memory: ProbeMemory, decoder: JpegDecoder, now: () => number = Date.now): Promise<ProbeOutcome> {
  const reasons = new Set<CameraReason>();
  const out: ProbeOutcome = { state: 'online', reasons: [] };
  const note = (code: string, message: string) => {
    out.code ??= code;
    out.detail ??= message;
  };
  let streamUri: string | undefined;
  let snapshotUri: string | undefined;
  try {
    const clock = await client.getSystemDateAndTime();
    out.clockSkewMs = clock.skewMs;
    if (Math.abs(clock.skewMs) > settings.clockSkewToleranceMs) reasons.add(CameraReason.clockSkew);
    const device = await client.getDeviceInformation();
    const profiles = await client.getProfiles();
    const profile = settings.profileToken === undefined ? profiles[0] : profiles.find((p) => p.token === settings.profileToken);
    if (!profile) {
      reasons.add(CameraReason.noProfiles);
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
    note(k.code, k.message);
    if (k.kind === 'unreachable') return finish(out, 'unreachable', [k.code === 'EDGE_CAMERA_TIMEOUT' ? CameraReason.timeout : CameraReason.connect]);
    if (k.kind === 'unauthorized') return finish(out, 'unauthorized', [CameraReason.onvifAuth]);
    reasons.add(CameraReason.onvifMalformed);
    delete out.device;
    delete out.profiles;
    // Keep checking what an operator sees, with what the last good probe learned.
    const last = settings.profileToken ?? [...memory.streamUris.keys()][0];
    streamUri = last === undefined ? undefined : memory.streamUris.get(last);
    snapshotUri = settings.snapshot ? memory.snapshotUri : undefined;
  }

  const auth: CameraReason[] = [];
  const rtspCheck = async () => {
    if (settings.rtsp === 'off' || streamUri === undefined) return;
    try {
      const r = await client.probeRtsp(streamUri, settings.rtsp);
      out.rtsp = { codec: r.codec, ...(r.width !== undefined && r.height !== undefined && { width: r.width, height: r.height }) };
      if (r.frameError) {
        reasons.add(CameraReason.rtspNoFrames);
        note(r.frameError.code, r.frameError.message);
      }
    } catch (err) {
      const k = kindOf(err);
      note(k.code, k.message);
      if (k.kind === 'unauthorized') auth.push(CameraReason.rtspAuth);
      else reasons.add(k.code === 'EDGE_CAMERA_BAD_RESPONSE' ? CameraReason.rtspInvalid : CameraReason.rtspDown);
    }
  };
  const snapshotCheck = async () => {
    if (snapshotUri === undefined) return;
    let jpeg: Buffer;
    try {
      jpeg = await client.fetchSnapshot(snapshotUri);
    } catch (err) {
      const k = kindOf(err);
      note(k.code, k.message);
      if (k.kind === 'unauthorized') auth.push(CameraReason.snapshotAuth);
      else reasons.add(CameraReason.snapshotUnavailable);
      return;
    }
    const hash = jpegHash(jpeg);
    const fresh = memory.freshness.observe(hash, now());
    if (fresh.stale) reasons.add(CameraReason.snapshotStale);
    try {
      // The same bytes as last time decode the same way: skip the CPU work, unless a thumbnail is due.
      const cached = memory.lastSnapshot?.hash === hash && !settings.thumbnail ? memory.lastSnapshot.analysis : undefined;
      const analysis = cached ?? (await analyse(decoder, jpeg, settings));
      memory.lastSnapshot = { hash, analysis: { width: analysis.width, height: analysis.height, progressive: analysis.progressive } };
      out.snapshot = { width: analysis.width, height: analysis.height, bytes: jpeg.length, changed: fresh.changed };
      if (analysis.thumbnail) out.thumbnail = analysis.thumbnail;
    } catch (err) {
      const k = kindOf(err);
      note(k.code, k.message);
      memory.lastSnapshot = undefined;
      reasons.add(CameraReason.snapshotInvalid);
    }
  };
  await Promise.all([rtspCheck(), snapshotCheck()]);
  if (auth.length > 0) return finish(out, 'unauthorized', auth);
  return finish(out, reasons.size > 0 ? 'degraded' : 'online', [...reasons]);
}

function analyse(decoder: JpegDecoder, jpeg: Buffer, settings: ProbeSettings): Promise<SnapshotAnalysis> {
  return decoder.analyse(jpeg, { maxMegapixels: settings.maxMegapixels, ...(settings.thumbnail && { thumbnail: settings.thumbnail }) });
}

function finish(out: ProbeOutcome, state: CameraState, reasons: CameraReason[]): ProbeOutcome {
  out.state = state;
  out.reasons = [...new Set(reasons)].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  return out;
}
