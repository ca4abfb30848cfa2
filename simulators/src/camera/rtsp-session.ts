import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { CameraState, StreamProfile } from './camera-state.js';
import { packetizeJpeg, RTP_CLOCK, senderReport, type RtpState } from './rtp-jpeg.js';

export type RtpTransport =
  | { kind: 'tcp'; socket: net.Socket; rtpChannel: number; rtcpChannel: number }
  | { kind: 'udp'; rtp: dgram.Socket; rtcp: dgram.Socket; clientHost: string; clientRtpPort: number; clientRtcpPort: number };

export interface RtspSessionOptions {
  id: string;
  profile: StreamProfile;
  transport: RtpTransport;
  state: CameraState;
  timeoutSec: number;
  /** Called when the session times out (no request or RTCP within timeoutSec). */
  onExpire: (session: RtspSession) => void;
  logger: Logger;
}

/** Frames queued on a TCP socket beyond this are dropped (a client that stopped reading must not grow memory). */
const MAX_BACKLOG = 2 * 1024 * 1024;

/** One SETUP'd stream: sends the profile's frames as RTP/JPEG at its fps while playing. */
export class RtspSession {
  readonly id: string;
  readonly rtp: RtpState;
  private readonly rtpBase: number;
  private playStart: number | undefined;
  private frameTimer: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private packets = 0;
  private octets = 0;
  private closed = false;

  constructor(private readonly options: RtspSessionOptions) {
    this.id = options.id;
    const r = randomBytes(10);
    this.rtp = { seq: r.readUInt16BE(0), ssrc: r.readUInt32BE(2) };
    this.rtpBase = r.readUInt32BE(6);
    this.touch();
  }

  get profile(): StreamProfile {
    return this.options.profile;
  }

  get transport(): RtpTransport {
    return this.options.transport;
  }

  get playing(): boolean {
    return this.frameTimer !== undefined;
  }

  /** RTP timestamp now (90 kHz). */
  rtpTime(): number {
    const elapsed = this.playStart === undefined ? 0 : this.options.state.wallNow() - this.playStart;
    return (this.rtpBase + Math.round((elapsed * RTP_CLOCK) / 1000)) >>> 0;
  }

  /** Restarts the inactivity timeout. */
  touch(): void {
    if (this.closed) return;
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = setTimeout(() => this.options.onExpire(this), this.options.timeoutSec * 1000);
  }

  play(): void {
    if (this.closed || this.frameTimer) return;
    this.playStart ??= this.options.state.wallNow();
    const interval = Math.max(10, Math.round(1000 / this.options.profile.fps));
    this.sendFrame();
    this.sendReport();
    let ticks = 0;
    this.frameTimer = setInterval(() => {
      this.sendFrame();
      if (++ticks % Math.max(1, Math.round(5000 / interval)) === 0) this.sendReport();
    }, interval);
  }

  pause(): void {
    if (this.frameTimer) clearInterval(this.frameTimer);
    this.frameTimer = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pause();
    if (this.expiry) clearTimeout(this.expiry);
    const t = this.options.transport;
    if (t.kind === 'udp') {
      t.rtp.close();
      t.rtcp.close();
    }
  }

  private sendFrame(): void {
    const t = this.options.transport;
    if (t.kind === 'tcp' && (t.socket.destroyed || t.socket.writableLength > MAX_BACKLOG)) return;
    let frame;
    try {
      frame = this.options.state.frame(this.options.profile.token);
    } catch (err) {
      this.options.logger.error({ err }, 'frame encoding failed');
      return;
    }
    const packets = packetizeJpeg(frame, this.rtpTime(), this.rtp);
    for (const p of packets) {
      this.packets++;
      this.octets += p.length - 12;
      this.send(p, false);
    }
    this.options.state.stats.rtpPackets += packets.length;
  }

  private sendReport(): void {
    this.send(senderReport(this.rtp.ssrc, this.options.state.now(), this.rtpTime(), this.packets, this.octets), true);
  }

  private send(packet: Buffer, rtcp: boolean): void {
    const t = this.options.transport;
    if (t.kind === 'tcp') {
      if (t.socket.destroyed) return;
      const head = Buffer.from([0x24, rtcp ? t.rtcpChannel : t.rtpChannel, packet.length >> 8, packet.length & 0xff]);
      t.socket.write(Buffer.concat([head, packet]));
    } else {
      (rtcp ? t.rtcp : t.rtp).send(packet, rtcp ? t.clientRtcpPort : t.clientRtpPort, t.clientHost);
    }
  }
}
