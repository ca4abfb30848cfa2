import { describe, expect, it } from 'vitest';
import { FirstFrameCollector } from './rtp-first-frame.js';
import type { RtpPacket } from './rtp.js';

/** Logic only: which packets make the first frame. The real streams are in rtsp-probe.test.ts and the GStreamer integration test. */
const SPS_1080P = Buffer.from('Z2QAKKzZQHgCJ+XARAAAAwAEAAADAAg8YMZY', 'base64');
const PPS = Buffer.from('aOvjyyLA', 'base64');
const pkt = (payload: Buffer, marker = false, payloadType = 96): RtpPacket => ({ payloadType, marker, sequence: 0, timestamp: 0, ssrc: 1, payload });
const stapA = (...nals: Buffer[]) => Buffer.concat([Buffer.from([24]), ...nals.flatMap((n) => [Buffer.from([n.length >> 8, n.length & 0xff]), n])]);
const fuA = (type: number, start: boolean, end: boolean, body = Buffer.alloc(100, 0xab)) => Buffer.concat([Buffer.from([0x60 | 28, (start ? 0x80 : 0) | (end ? 0x40 : 0) | type]), body]);
const slice = (type: number) => Buffer.concat([Buffer.from([0x40 | type]), Buffer.alloc(50, 1)]);

describe('first RTP frame', () => {
  it('H.264: skips the tail of a frame under way, starts at the parameter sets, takes the size from the in-band SPS', () => {
    const c = new FirstFrameCollector(96, 'H264', 1 << 20);
    expect(c.push(pkt(fuA(1, false, false)))).toBeUndefined(); // middle of a P frame
    expect(c.push(pkt(fuA(1, false, true), true))).toBeUndefined(); // its end: skipped, not a frame
    expect(c.push(pkt(stapA(SPS_1080P, PPS)))).toBeUndefined();
    expect(c.push(pkt(fuA(5, true, false)))).toBeUndefined();
    expect(c.push(pkt(slice(1), false, 97))).toBeUndefined(); // another payload type
    const frame = c.push(pkt(fuA(5, false, true), true));
    expect(frame).toMatchObject({ packets: 3, width: 1920, height: 1080, keyFrame: true });
  });

  it('H.264 without in-band parameter sets: the frame after the first marker, no size, not a key frame', () => {
    const c = new FirstFrameCollector(96, 'H264', 1 << 20);
    expect(c.push(pkt(slice(1)))).toBeUndefined(); // might be a second slice of a picture: not a start
    expect(c.push(pkt(slice(1), true))).toBeUndefined();
    expect(c.push(pkt(slice(1), true))).toEqual({ packets: 1, bytes: 51, keyFrame: false });
  });

  it('JPEG: starts at fragment offset 0 and reads the size from the RFC 2435 header', () => {
    const jpeg = (offset: number, body = 40) => Buffer.concat([Buffer.from([0, offset >> 16, (offset >> 8) & 0xff, offset & 0xff, 1, 255, 40, 30]), Buffer.alloc(body)]);
    const c = new FirstFrameCollector(26, 'JPEG', 1 << 20);
    expect(c.push(pkt(jpeg(500), true, 26))).toBeUndefined();
    expect(c.push(pkt(jpeg(0), false, 26))).toBeUndefined();
    expect(c.push(pkt(jpeg(48), true, 26))).toMatchObject({ packets: 2, width: 320, height: 240 });
  });

  it('a frame bigger than the cap fails with EDGE_CAMERA_TOO_LARGE', () => {
    const c = new FirstFrameCollector(96, 'H265', 150);
    c.push(pkt(Buffer.alloc(10), true));
    c.push(pkt(Buffer.alloc(100)));
    expect(() => c.push(pkt(Buffer.alloc(100)))).toThrow(expect.objectContaining({ code: 'EDGE_CAMERA_TOO_LARGE' }));
  });
});
