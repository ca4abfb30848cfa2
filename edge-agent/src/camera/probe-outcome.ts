import { CameraReason, type CameraState, type RtspCheck } from '@cityedge/contract';
import { CameraError, type DeviceInformation, type MediaProfile, type SnapshotAnalysis, type SnapshotFreshness } from '@cityedge/drivers/camera';

export interface ProbeSettings {
  /** Profile to check; default the first (ONVIF cameras). */
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
  /** Error message behind the state, for logs (never contains a URI); forwarded when misconfigured. */
  detail?: string;
  clockSkewMs?: number;
  /** How the camera was probed: ONVIF, or its configured URLs alone. */
  source: 'onvif' | 'rtsp';
  /** Present when ONVIF answered in full this time. */
  device?: DeviceInformation;
  profiles?: MediaProfile[];
  checkedProfile?: string;
  rtsp?: { codec: string; width?: number; height?: number };
  snapshot?: { width: number; height: number; bytes: number; changed: boolean };
  thumbnail?: { width: number; height: number; base64: string };
}

/** How an error bears on the state: unreachable, unauthorized, the caller's argument (a URI), or anything else. */
export type ErrorKind = 'unreachable' | 'unauthorized' | 'argument' | 'malformed';

export function kindOf(err: unknown): { kind: ErrorKind; code: string; message: string } {
  const e = err instanceof CameraError ? err : new CameraError('EDGE_CAMERA_BAD_RESPONSE', 'unexpected failure', { cause: err });
  const kind: ErrorKind =
    e.code === 'EDGE_CAMERA_TIMEOUT' || e.code === 'EDGE_CAMERA_CONNECT'
      ? 'unreachable'
      : e.code === 'EDGE_CAMERA_UNAUTHORIZED'
        ? 'unauthorized'
        : e.code === 'EDGE_CAMERA_ARGUMENT'
          ? 'argument'
          : 'malformed';
  return { kind, code: e.code, message: e.message };
}

/** Reasons in the order they are reported. */
const ORDER: CameraReason[] = Object.values(CameraReason);

/** One probe's outcome as it is built: reasons collected, the first error noted. */
export class OutcomeBuilder {
  readonly out: ProbeOutcome;
  readonly reasons = new Set<CameraReason>();

  constructor(source: ProbeOutcome['source']) {
    this.out = { state: 'online', reasons: [], source };
  }

  /** Keeps the first error met as the one behind the state. */
  note(code: string, message: string): void {
    this.out.code ??= code;
    this.out.detail ??= message;
  }

  finish(state: CameraState, reasons: Iterable<CameraReason>): ProbeOutcome {
    this.out.state = state;
    this.out.reasons = [...new Set(reasons)].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
    return this.out;
  }

  /** degraded with the collected reasons, or online without any. */
  finishMedia(): ProbeOutcome {
    return this.finish(this.reasons.size > 0 ? 'degraded' : 'online', this.reasons);
  }
}
