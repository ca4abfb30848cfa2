import { CameraError } from './camera-error.js';
import { parseSpsResolution } from './h264-sps.js';
import { H264_NAL, inspectH264Payload, startsAccessUnit } from './rtp-h264.js';
import { parseJpegRtpHeader, type RtpPacket } from './rtp.js';

export interface RtspFrame {
  packets: number;
  bytes: number;
  /** From the RFC 2435 header of a JPEG frame, or from an SPS sent in the stream (H.264). */
  width?: number;
  height?: number;
  /** H.264: the frame holds an IDR picture (decodable on its own). */
  keyFrame?: boolean;
}

/**
 * Collects the first complete video frame from RTP packets of one payload type: from the start
 * of a frame (JPEG fragment offset 0; H.264 an access unit delimiter, SPS, PPS or SEI, or the
 * packet after a frame's last; other codecs the packet after a frame's last) to the packet
 * with the marker bit. The tail of a frame already under way when PLAY began is skipped.
 */
export class FirstFrameCollector {
  private readonly frame: RtspFrame = { packets: 0, bytes: 0 };
  private started = false;
  private afterMarker = false;

  constructor(
    private readonly payloadType: number,
    private readonly codec: string,
    private readonly maxBytes: number,
  ) {}

  /** The frame once its last packet arrived; throws EDGE_CAMERA_TOO_LARGE past maxBytes. */
  push(rtp: RtpPacket): RtspFrame | undefined {
    if (rtp.payloadType !== this.payloadType) return undefined;
    const h264 = this.codec === 'H264' ? inspectH264Payload(rtp.payload) : undefined;
    if (!this.started && !this.startsFrame(rtp, h264?.types)) {
      if (rtp.marker) this.afterMarker = true;
      return undefined;
    }
    this.started = true;
    if (h264) {
      const size = h264.sps ? parseSpsResolution(h264.sps) : undefined;
      if (size) Object.assign(this.frame, size);
      this.frame.keyFrame = this.frame.keyFrame === true || h264.types.includes(H264_NAL.idr);
    }
    this.frame.packets++;
    this.frame.bytes += rtp.payload.length;
    if (this.frame.bytes > this.maxBytes) throw new CameraError('EDGE_CAMERA_TOO_LARGE', `RTSP: first frame larger than ${this.maxBytes} bytes`);
    return rtp.marker ? this.frame : undefined;
  }

  /** Whether the packet may begin the frame (a JPEG one also gives the picture size). */
  private startsFrame(rtp: RtpPacket, h264Types: readonly number[] | undefined): boolean {
    if (this.payloadType === 26 || this.codec === 'JPEG') {
      const jpeg = parseJpegRtpHeader(rtp.payload);
      if (!jpeg || jpeg.fragmentOffset !== 0) return false;
      Object.assign(this.frame, { width: jpeg.width, height: jpeg.height });
      return true;
    }
    return this.afterMarker || (h264Types !== undefined && startsAccessUnit(h264Types));
  }
}
