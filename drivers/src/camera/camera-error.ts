import { EdgeError } from '@cityedge/contract';
/** Codes of camera access errors. Every camera call fails with one of these, never with a raw socket or parser error. */
export type CameraErrorCode =
  /** No (complete) answer within the call's timeout. */
  | 'EDGE_CAMERA_TIMEOUT'
  /** Connection refused, reset, closed early, no route, unknown host. */
  | 'EDGE_CAMERA_CONNECT'
  /** The camera rejected the credentials (SOAP NotAuthorized, HTTP/RTSP 401 after authenticating). */
  | 'EDGE_CAMERA_UNAUTHORIZED'
  /** Malformed or unexpected reply: broken XML, a SOAP fault, a missing element, a bad RTSP or SDP message. */
  | 'EDGE_CAMERA_BAD_RESPONSE'
  /** A reply bigger than the configured cap. */
  | 'EDGE_CAMERA_TOO_LARGE'
  /** An HTTP or RTSP error status other than 401 (404, 503...). */
  | 'EDGE_CAMERA_STATUS'
  /** A snapshot that is not a JPEG that decodes. */
  | 'EDGE_CAMERA_JPEG'
  /** A bad argument from the caller (an unparsable URI...). */
  | 'EDGE_CAMERA_ARGUMENT';

export class CameraError extends EdgeError<CameraErrorCode> {
  override readonly name = 'CameraError';
  /** HTTP or RTSP status, when the error comes from one. */
  readonly status: number | undefined;

  constructor(code: CameraErrorCode, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(code, message, options);
    this.status = options.status;
  }
}

export function isCameraError(err: unknown): err is CameraError {
  return err instanceof CameraError;
}

/** Maps a socket error (ECONNREFUSED, ETIMEDOUT...) to a CameraError naming what was being done. */
export function fromSocketError(err: unknown, what: string): CameraError {
  if (err instanceof CameraError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code === 'ETIMEDOUT') return new CameraError('EDGE_CAMERA_TIMEOUT', `${what}: timed out (${code})`, { cause: err });
  return new CameraError('EDGE_CAMERA_CONNECT', `${what}: ${code ?? (e?.message || 'connection failed')}`, { cause: err });
}
