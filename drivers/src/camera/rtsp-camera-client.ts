import type { CameraLimits, MediaClient } from './camera-client.js';
import { DigestSession } from './digest-auth.js';
import { httpGet } from './http-get.js';
import { probeRtsp, type RtspProbeMode, type RtspProbeResult } from './rtsp-probe.js';

export interface RtspCameraClientOptions {
  limits: CameraLimits;
  /** Answers Digest or Basic challenges of the snapshot and RTSP servers. */
  credentials?: { username: string; password: string };
}

/**
 * The media checks of one camera: a snapshot over HTTP(S) and the RTSP stream, each with the
 * call deadline and size caps of `limits` and the camera's credentials. A camera without ONVIF
 * is probed with this alone; OnvifCameraClient uses it for the URIs ONVIF reports.
 */
export class RtspCameraClient implements MediaClient {
  private readonly limits: CameraLimits;
  private readonly auth: DigestSession | undefined;

  constructor(opts: RtspCameraClientOptions) {
    this.limits = opts.limits;
    this.auth = opts.credentials ? new DigestSession(opts.credentials.username, opts.credentials.password) : undefined;
  }

  async fetchSnapshot(uri: string): Promise<Buffer> {
    const res = await httpGet(uri, { timeoutMs: this.limits.timeoutMs, maxBytes: this.limits.maxSnapshotBytes, what: 'snapshot', ...(this.auth && { auth: this.auth }) });
    return res.body;
  }

  probeRtsp(uri: string, mode: RtspProbeMode): Promise<RtspProbeResult> {
    return probeRtsp(uri, {
      mode,
      timeoutMs: this.limits.timeoutMs,
      maxResponseBytes: this.limits.maxResponseBytes,
      maxFrameBytes: this.limits.maxSnapshotBytes,
      ...(this.auth && { auth: this.auth }),
    });
  }

  /** Every call opens and closes its own connection and ends within its deadline: nothing to close between calls. */
  close(): void {}
}
