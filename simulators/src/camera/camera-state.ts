import { createHash } from 'node:crypto';
import type { Clock } from '../sim-clock.js';
import type { CameraFault, CameraFaultMode, CameraSpec } from './camera-spec.js';
import { FrameSource, type Frame } from './frame-source.js';

export interface StreamProfile {
  /** ONVIF profile token: Profile_1 (main stream), Profile_2 (sub stream). */
  token: string;
  name: string;
  width: number;
  height: number;
  fps: number;
  /** RTSP path: stream1, stream2. */
  path: string;
}

/** Counters a test can read to see why the camera refused or what it served. */
export interface CameraStats {
  soapRequests: number;
  /** Refusals by reason (ws-security reasons, 'http-digest', 'snapshot', 'rtsp'). */
  authFailures: Record<string, number>;
  snapshots: number;
  rtspSessions: number;
  rtpPackets: number;
  boots: number;
}

/** Stable urn:uuid (name-based, SHA-1) from the camera id: the WS-Discovery EndpointReference. */
export function cameraUuid(id: string): string {
  const h = createHash('sha1').update(`cityedge-sim-camera:${id}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function hueOf(id: string): number {
  return createHash('sha1').update(id).digest().readUInt16BE(0) % 360;
}

/**
 * What one camera is and how it misbehaves right now: identity, credentials, clock, faults,
 * frame sources. The servers read it on every request, so a fault set at runtime applies to
 * the next request.
 */
export class CameraState {
  readonly uuid: string;
  readonly name: string;
  readonly serial: string;
  readonly profiles: readonly StreamProfile[];
  readonly stats: CameraStats = { soapRequests: 0, authFailures: {}, snapshots: 0, rtspSessions: 0, rtpPackets: 0, boots: 0 };
  /** Camera-clock epoch ms of the last boot. */
  bootTime = 0;
  host = '127.0.0.1';
  /** The configured ports (0: ephemeral), replaced by the bound ones at the first start and kept after. */
  httpPort: number;
  rtspPort: number;
  discoveryPort: number | undefined;
  /** WS-Discovery AppSequence MessageNumber of the last message sent. */
  discoveryMessages = 0;
  private readonly active = new Map<CameraFaultMode, CameraFault>();
  private readonly sources = new Map<string, FrameSource>();
  private frozenAt: number | undefined;

  constructor(
    readonly spec: CameraSpec,
    private readonly clock: Clock,
  ) {
    this.httpPort = spec.httpPort;
    this.rtspPort = spec.rtspPort;
    this.uuid = cameraUuid(spec.id);
    this.name = spec.name ?? spec.id;
    this.serial = spec.serial ?? `SN${createHash('sha1').update(spec.id).digest('hex').slice(0, 10).toUpperCase()}`;
    const subW = Math.max(16, Math.floor(spec.width / 2 / 8) * 8);
    const subH = Math.max(16, Math.floor(spec.height / 2 / 8) * 8);
    this.profiles = [
      { token: 'Profile_1', name: 'mainStream', width: spec.width, height: spec.height, fps: spec.fps, path: 'stream1' },
      { token: 'Profile_2', name: 'subStream', width: subW, height: subH, fps: spec.fps, path: 'stream2' },
    ];
    const hue = hueOf(spec.id);
    for (const p of this.profiles) {
      this.sources.set(p.token, new FrameSource({ width: p.width, height: p.height, fps: p.fps, quality: spec.quality, hue, now: () => clock.now() }));
    }
  }

  /** The camera's own clock (epoch ms), off by the clock-skew fault. */
  now(): number {
    const skew = this.active.get('clock-skew');
    return this.clock.now() + (skew?.mode === 'clock-skew' ? skew.skewSec * 1000 : 0);
  }

  /** The real time (epoch ms), unaffected by faults: nonce lifetimes and video timing. */
  wallNow(): number {
    return this.clock.now();
  }

  /** The password the camera accepts: not the configured one while credentials are rotated. */
  get password(): string {
    return this.active.has('wrong-password') ? `${this.spec.password}#rotated` : this.spec.password;
  }

  has(mode: CameraFaultMode): boolean {
    return this.active.has(mode);
  }

  faults(): CameraFault[] {
    return [...this.active.values()];
  }

  setFault(fault: CameraFault): void {
    if (fault.mode === 'frozen-snapshot' && this.frozenAt === undefined) this.frozenAt = this.clock.now();
    this.active.set(fault.mode, fault);
  }

  clearFault(mode?: CameraFaultMode): void {
    if (mode === undefined) this.active.clear();
    else this.active.delete(mode);
    if (!this.active.has('frozen-snapshot')) this.frozenAt = undefined;
  }

  profile(token: string | undefined): StreamProfile | undefined {
    return token === undefined ? this.profiles[0] : this.profiles.find((p) => p.token === token);
  }

  profileByPath(path: string): StreamProfile | undefined {
    return this.profiles.find((p) => p.path === path);
  }

  /** The picture of a profile now; while frozen, the picture of the moment it froze. */
  frame(token: string): Frame {
    const source = this.sources.get(token) ?? this.sources.get('Profile_1');
    if (!source) throw new Error(`no frame source for ${token}`);
    const fps = this.profile(token)?.fps ?? 1;
    return source.frame(this.frozenAt === undefined ? source.currentIndex() : Math.floor((this.frozenAt * fps) / 1000));
  }

  countAuthFailure(reason: string): void {
    this.stats.authFailures[reason] = (this.stats.authFailures[reason] ?? 0) + 1;
  }

  get baseUrl(): string {
    return `http://${this.host}:${this.httpPort}`;
  }

  get deviceServiceUrl(): string {
    return `${this.baseUrl}/onvif/device_service`;
  }

  get mediaServiceUrl(): string {
    return `${this.baseUrl}/onvif/media_service`;
  }

  snapshotUrl(token = 'Profile_1'): string {
    return `${this.baseUrl}/onvif/snapshot?profile=${token}`;
  }

  rtspUrl(profile: StreamProfile | undefined = this.profiles[0]): string {
    return `rtsp://${this.host}:${this.rtspPort}/${profile?.path ?? 'stream1'}`;
  }
}
