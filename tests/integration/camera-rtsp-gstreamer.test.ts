import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CamerasConfig, type GatewayEvent } from '@cityedge/contract';
import { CameraError, DigestSession, InlineJpegDecoder, probeRtsp, type RtspProbeOptions } from '@cityedge/drivers/camera';
import { CameraProber } from '@cityedge/edge-agent';
import { GstRtspServer } from '../support/gst-rtsp.js';
import { quiet } from '../support/fixtures.js';

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

  it('sees the same codec and size as ffprobe (an independent RTSP client) on the Digest stream', async () => {
    const theirs = await new Promise<{ codec_name: string; width: number; height: number }>((resolve, reject) =>
      execFile('ffprobe', ['-v', 'error', '-rtsp_transport', 'tcp', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', digest.urlWith('viewer', 'Mật-khẩu 7')], { timeout: 20_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`ffprobe failed (apt-get install ffmpeg): ${String(stderr) || err.message}`)) : resolve((JSON.parse(String(stdout)) as { streams: Array<{ codec_name: string; width: number; height: number }> }).streams[0]!),
      ),
    );
    const ours = await probeRtsp(digest.url, opts({ auth: new DigestSession('viewer', 'Mật-khẩu 7') }));
    expect(theirs.codec_name).toBe('h264');
    expect({ codec: ours.codec, width: ours.width, height: ours.height }).toEqual({ codec: 'H264', width: theirs.width, height: theirs.height });
    expect({ width: ours.frame?.width, height: ours.frame?.height }).toEqual({ width: theirs.width, height: theirs.height });
  });

  it('DESCRIBE only: a path the server does not have is EDGE_CAMERA_STATUS 404', async () => {
    const e = await probeRtsp(open.url.replace('/cam', '/nothing'), opts({ mode: 'describe' })).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'EDGE_CAMERA_STATUS', status: 404 });
  });
});

/**
 * A camera without ONVIF, configured by its RTSP URL, probed by the agent's camera prober
 * against GStreamer: the same states as an ONVIF camera, from DESCRIBE and the first frame.
 */
describe('camera prober: a camera without ONVIF against GStreamer', () => {
  let server: GstRtspServer;
  beforeAll(async () => {
    server = await GstRtspServer.start({ path: '/stream', width: 320, height: 240, auth: { method: 'digest', user: 'probe', password: 'gst-pw' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  function prober(password: string, url = server.url) {
    const events: GatewayEvent[] = [];
    const p = new CameraProber({
      config: CamerasConfig.parse({ callTimeoutMs: 10_000, confirmAfter: 1, rtsp: 'frame', credentials: { default: { username: 'probe', password } }, devices: [{ id: 'gst', rtspUrl: url }] }),
      gatewayId: 'gw-gst',
      logger: quiet,
      appendEvent: (e) => events.push(e),
      decoder: new InlineJpegDecoder(),
    });
    p.start();
    return { p, events };
  }

  it('online with the H.264 codec and size; unauthorized (rtsp-auth) with a wrong password', async () => {
    const ok = prober('gst-pw');
    try {
      await ok.p.probeAll();
      expect(ok.p.status()).toEqual([expect.objectContaining({ id: 'gst', state: 'online', reasons: [], codec: 'H264', width: 320, height: 240 })]);
      expect(ok.events.find((e) => e.type === 'camera.inventory')?.data).toEqual({ source: 'rtsp', profiles: [], streamUri: server.url });
    } finally {
      await ok.p.stop();
    }
    const wrong = prober('wrong');
    try {
      await wrong.p.probeAll();
      expect(wrong.p.status()).toEqual([expect.objectContaining({ state: 'unauthorized', reasons: ['rtsp-auth'] })]);
    } finally {
      await wrong.p.stop();
    }
  });

  it('unreachable (connect) when the server is gone, degraded rtsp-down when the path is wrong', async () => {
    const gone = await GstRtspServer.start({ width: 176, height: 144 });
    const url = gone.url;
    await gone.stop();
    const down = prober('gst-pw', url);
    const missing = prober('gst-pw', server.url.replace('/stream', '/nothing'));
    try {
      await Promise.all([down.p.probeAll(), missing.p.probeAll()]);
      expect(down.p.status()).toEqual([expect.objectContaining({ state: 'unreachable', reasons: ['connect'] })]);
      expect(missing.p.status()).toEqual([expect.objectContaining({ state: 'degraded', reasons: ['rtsp-down'] })]);
    } finally {
      await Promise.all([down.p.stop(), missing.p.stop()]);
    }
  });
});
