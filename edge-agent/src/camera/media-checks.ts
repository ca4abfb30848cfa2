import { CameraReason } from '@cityedge/contract';
import { jpegHash, type JpegDecoder, type MediaClient, type SnapshotAnalysis } from '@cityedge/drivers/camera';
import { kindOf, type OutcomeBuilder, type ProbeMemory, type ProbeSettings } from './probe-outcome.js';

/** What the media checks met, beyond the reasons they added. */
export interface MediaCheckSummary {
  /** Checks run (RTSP, snapshot). */
  attempted: number;
  /** Checks that found nobody answering, in the order RTSP, snapshot. */
  unreachable: Array<{ code: string }>;
  /** Services that refused the credentials. */
  auth: CameraReason[];
  /** Why a check could not use its URI (EDGE_CAMERA_ARGUMENT), one message per check. */
  unusableUri: string[];
}

/**
 * The stream and snapshot checks of one probe, in parallel: RTSP (DESCRIBE, optionally the
 * first frame) and a snapshot that must be a JPEG that decodes and is fresh. Adds the media
 * reasons (rtsp-down, rtsp-invalid, rtsp-no-frames, snapshot-*) to the outcome and says what
 * else it met, for the caller to decide the state. Never throws.
 */
export async function checkMedia(
  client: MediaClient,
  uris: { stream: string | undefined; snapshot: string | undefined },
  settings: ProbeSettings,
  memory: ProbeMemory,
  decoder: JpegDecoder,
  now: () => number,
  b: OutcomeBuilder,
): Promise<MediaCheckSummary> {
  const summary: MediaCheckSummary = { attempted: 0, unreachable: [], auth: [], unusableUri: [] };
  const failed = (err: unknown, reasonIfDown: CameraReason, authReason: CameraReason): void => {
    const k = kindOf(err);
    b.note(k.code, k.message);
    if (k.kind === 'unauthorized') summary.auth.push(authReason);
    else {
      if (k.kind === 'unreachable') summary.unreachable.push({ code: k.code });
      if (k.kind === 'argument') summary.unusableUri.push(k.message);
      b.reasons.add(reasonIfDown);
    }
  };
  const rtspCheck = async () => {
    if (settings.rtsp === 'off' || uris.stream === undefined) return;
    summary.attempted++;
    try {
      const r = await client.probeRtsp(uris.stream, settings.rtsp);
      b.out.rtsp = { codec: r.codec, ...(r.width !== undefined && r.height !== undefined && { width: r.width, height: r.height }) };
      if (r.frameError) {
        b.reasons.add(CameraReason.rtspNoFrames);
        b.note(r.frameError.code, r.frameError.message);
      }
    } catch (err) {
      const k = kindOf(err);
      failed(err, k.code === 'EDGE_CAMERA_BAD_RESPONSE' || k.kind === 'argument' ? CameraReason.rtspInvalid : CameraReason.rtspDown, CameraReason.rtspAuth);
    }
  };
  const snapshotCheck = async () => {
    if (!settings.snapshot || uris.snapshot === undefined) return;
    summary.attempted++;
    let jpeg: Buffer;
    try {
      jpeg = await client.fetchSnapshot(uris.snapshot);
    } catch (err) {
      failed(err, CameraReason.snapshotUnavailable, CameraReason.snapshotAuth);
      return;
    }
    const hash = jpegHash(jpeg);
    const fresh = memory.freshness.observe(hash, now());
    if (fresh.stale) b.reasons.add(CameraReason.snapshotStale);
    try {
      // The same bytes as last time decode the same way: skip the CPU work, unless a thumbnail is due.
      const cached = memory.lastSnapshot?.hash === hash && !settings.thumbnail ? memory.lastSnapshot.analysis : undefined;
      const analysis = cached ?? (await analyse(decoder, jpeg, settings));
      memory.lastSnapshot = { hash, analysis: { width: analysis.width, height: analysis.height, progressive: analysis.progressive } };
      b.out.snapshot = { width: analysis.width, height: analysis.height, bytes: jpeg.length, changed: fresh.changed };
      if (analysis.thumbnail) b.out.thumbnail = analysis.thumbnail;
    } catch (err) {
      const k = kindOf(err);
      b.note(k.code, k.message);
      memory.lastSnapshot = undefined;
      b.reasons.add(CameraReason.snapshotInvalid);
    }
  };
  await Promise.all([rtspCheck(), snapshotCheck()]);
  return summary;
}

function analyse(decoder: JpegDecoder, jpeg: Buffer, settings: ProbeSettings): Promise<SnapshotAnalysis> {
  return decoder.analyse(jpeg, { maxMegapixels: settings.maxMegapixels, ...(settings.thumbnail && { thumbnail: settings.thumbnail }) });
}
