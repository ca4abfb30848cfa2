import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraError, DigestSession, probeRtsp, type RtspProbeOptions } from '@cityedge/drivers';
import { GstRtspServer } from '../support/gst-rtsp.js';

/**
 * Our RTSP probe against GStreamer's RTSP server (gst-rtsp-server), an H.264 server we did not
 * write. Its SDP has a session-level `a=control:*` and a media `a=control:stream=0` under a
 * Content-Base: PLAY must go to the aggregate URL (a PLAY on the stream URL is answered
 * 460 "Only aggregate operation allowed"). Fails, never skips, without GStreamer.
 */
describe('RTSP probe against GStreamer (H.264)', () => {
  let open: GstRtspServer;
  let digest: GstRtspServer;
  let basic: GstRtspServer;
  const opts = (o: Partial<RtspProbeOptions> = {}): RtspProbeOptions => ({ mode: 'frame', timeoutMs: 10_000, maxResponseBytes: 65_536, ...o });

  beforeAll(async () => {
    [open, digest, basic] = await Promise.all([
      GstRtspServer.start({ width: 320, height: 240 }),
      GstRtspServer.start({ path: '/live/main', width: 352, height: 288, auth: { method: 'digest', user: 'viewer', password: 'Mật-khẩu 7' } }),
      GstRtspServer.start({ width: 176, height: 144, auth: { method: 'basic', user: 'viewer', password: 'b4sic' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), digest?.stop(), basic?.stop()]);
  });

  it('DESCRIBE gives H.264 and its size from sprop-parameter-sets; SETUP + PLAY (aggregate) give the first frame with its SPS size', async () => {
    const r = await probeRtsp(open.url, opts());
    expect(r.frameError).toBeUndefined();
    expect(r).toMatchObject({ codec: 'H264', payloadType: 96, clockRate: 90000, width: 320, height: 240 });
    expect(r.frame?.packets).toBeGreaterThan(0);
    expect(r.frame).toMatchObject({ width: 320, height: 240 });
  });

  it('answers Digest authentication, and refuses a wrong password as EDGE_CAMERA_UNAUTHORIZED', async () => {
    const r = await probeRtsp(digest.url, opts({ auth: new DigestSession('viewer', 'Mật-khẩu 7') }));
    expect(r.frameError).toBeUndefined();
    expect(r.frame).toMatchObject({ width: 352, height: 288 });
    const wrong = await probeRtsp(digest.url, opts({ auth: new DigestSession('viewer', 'nope') })).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(CameraError);
    expect((wrong as CameraError).code).toBe('EDGE_CAMERA_UNAUTHORIZED');
  });

  it('answers Basic authentication', async () => {
    const r = await probeRtsp(basic.url, opts({ auth: new DigestSession('viewer', 'b4sic') }));
    expect(r.frameError).toBeUndefined();
    expect(r).toMatchObject({ codec: 'H264', width: 176, height: 144 });
    expect(r.frame).toMatchObject({ width: 176, height: 144 });
  });

  it('DESCRIBE only: a path the server does not have is EDGE_CAMERA_STATUS 404', async () => {
    const e = await probeRtsp(open.url.replace('/cam', '/nothing'), opts({ mode: 'describe' })).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'EDGE_CAMERA_STATUS', status: 404 });
  });
});
