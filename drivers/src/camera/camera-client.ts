import type { RtspProbeResult, RtspProbeMode } from './rtsp-probe.js';

/**
 * The media checks of a camera, which need no ONVIF: a snapshot over HTTP and the RTSP stream.
 * A camera without ONVIF is probed with this alone (RtspCameraClient). Every method settles
 * within the client's per-call timeout and rejects only with a CameraError (EDGE_CAMERA_*).
 */
export interface MediaClient {
  /** HTTP GET of a snapshot URI, with HTTP Digest (or Basic) when the camera asks for it. */
  fetchSnapshot(uri: string): Promise<Buffer>;
  /** RTSP DESCRIBE (and optionally SETUP/PLAY to the first frame) with Digest (or Basic) auth. */
  probeRtsp(uri: string, mode: RtspProbeMode): Promise<RtspProbeResult>;
  /** Destroys any connection still open. */
  close(): void;
}

/**
 * Camera access behind a small interface: the prober only sees this, so its scheduling and
 * state logic can be unit-tested with an in-memory fake, and the real implementation
 * (OnvifCameraClient) is tested over real sockets against the camera simulator.
 *
 * Every method settles within the client's per-call timeout and rejects only with a
 * CameraError (EDGE_CAMERA_*). Results may contain URIs as the camera reported them, which can
 * hold credentials: callers strip them (stripUriSecrets) before logging or forwarding.
 */
export interface CameraClient extends MediaClient {
  /**
   * Starts a session: reads the camera clock without authentication and signs every later
   * request of the session with the camera's time. Call it first.
   */
  getSystemDateAndTime(): Promise<CameraClock>;
  getDeviceInformation(): Promise<DeviceInformation>;
  getProfiles(): Promise<MediaProfile[]>;
  /** RTP-Unicast over RTSP. */
  getStreamUri(profileToken: string): Promise<string>;
  getSnapshotUri(profileToken: string): Promise<string>;
}

export interface CameraEndpoint {
  host: string;
  /** Port of the device service. */
  port: number;
  /** Path of the device service, e.g. /onvif/device_service. */
  path: string;
  username?: string;
  password?: string;
  /** Replace the host of reported stream and snapshot URIs with `host` (NAT). */
  preserveAddress?: boolean;
}

export interface CameraLimits {
  /** Deadline of each request, connect to last byte. */
  timeoutMs: number;
  /** Largest SOAP or RTSP reply. */
  maxResponseBytes: number;
  /** Largest snapshot. */
  maxSnapshotBytes: number;
}

export interface CameraClock {
  /** Camera UTC time, ms since the epoch (second resolution, as ONVIF reports it). */
  cameraTime: number;
  /** Camera clock minus local clock, ms, corrected for half the round trip. */
  skewMs: number;
}

export interface DeviceInformation {
  manufacturer: string | undefined;
  model: string | undefined;
  firmwareVersion: string | undefined;
  serialNumber: string | undefined;
  hardwareId: string | undefined;
}

export interface MediaProfile {
  token: string;
  name?: string;
  encoding?: string;
  width?: number;
  height?: number;
  fps?: number;
}
