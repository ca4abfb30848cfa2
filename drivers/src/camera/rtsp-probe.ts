import { CameraError } from './camera-error.js';
import { parseChallenges, type Challenge, type DigestSession } from './digest-auth.js';
import { h264Resolution } from './h264-sps.js';
import { FirstFrameCollector, type RtspFrame } from './rtp-first-frame.js';
import { parseRtp } from './rtp.js';
import { RtspConnection, type RtspResponse } from './rtsp-connection.js';
import { rtspBaseUrl, rtspControlUrls, type RtspControlUrls } from './rtsp-control-url.js';
import { parseSdp, videoOf } from './sdp.js';

export type { RtspFrame } from './rtp-first-frame.js';

/** `describe`: DESCRIBE and a parsed SDP. `frame`: also SETUP + PLAY (RTP over the RTSP connection) up to the first complete frame. */
export type RtspProbeMode = 'describe' | 'frame';

export interface RtspProbeOptions {
  mode: RtspProbeMode;
  /** Deadline of the whole probe. */
  timeoutMs: number;
  /** Largest RTSP reply (the SDP). */
  maxResponseBytes: number;
  /** Largest first frame collected (mode frame). */
  maxFrameBytes?: number;
  auth?: DigestSession;
}

export interface RtspProbeResult {
  /** Upper-case codec name from the SDP: JPEG, H264, H265... */
  codec: string;
  payloadType: number;
  clockRate: number;
  /** From a=framesize / a=x-dimensions / sprop-parameter-sets, else from the first frame (JPEG header, in-band SPS). */
  width?: number;
  height?: number;
  /** Mode frame: the first complete frame, or why none came. */
  frame?: RtspFrame;
  frameError?: { code: string; message: string };
}

/**
 * Checks a camera stream the way a viewer would start it: DESCRIBE with Digest (or Basic)
 * authentication over a raw TCP connection, the SDP parsed for the video codec and
 * resolution, and optionally SETUP (interleaved TCP) + PLAY until the first complete frame.
 * SETUP goes to the media's control URL and PLAY to the aggregate one when the SDP has a
 * session-level control (rtsp-control-url.ts).
 * Rejects with CameraError: EDGE_CAMERA_UNAUTHORIZED, _STATUS, _BAD_RESPONSE (no usable SDP),
 * _TIMEOUT, _CONNECT, _TOO_LARGE. Problems after a good DESCRIBE land in `frameError`.
 */
export async function probeRtsp(uri: string, opts: RtspProbeOptions): Promise<RtspProbeResult> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (err) {
    throw new CameraError('EDGE_CAMERA_ARGUMENT', 'RTSP: not a URI', { cause: err });
  }
  if (url.protocol !== 'rtsp:') throw new CameraError('EDGE_CAMERA_ARGUMENT', `RTSP: unsupported scheme ${url.protocol}`);
  url.username = '';
  url.password = '';
  const requestUri = url.toString();
  const deadline = Date.now() + opts.timeoutMs;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : 554;
  const connect = () => RtspConnection.connect({ host, port, deadline, maxResponseBytes: opts.maxResponseBytes, what: 'RTSP' });
  let conn = await connect();
  try {
    let challenges: Challenge[] = [];
    const authHeaders = (method: string, target: string): Record<string, string> => {
      const a = challenges.length && opts.auth ? opts.auth.authorize(challenges, method, target) : undefined;
      return a ? { Authorization: a } : {};
    };
    let res = await conn.request('DESCRIBE', requestUri, { Accept: 'application/sdp' });
    if (res.status === 401 && opts.auth) {
      challenges = parseChallenges(res.headers.get('www-authenticate') ?? []);
      if (challenges.length) {
        const describe = () => conn.request('DESCRIBE', requestUri, { Accept: 'application/sdp', ...authHeaders('DESCRIBE', requestUri) });
        try {
          res = await describe();
        } catch (err) {
          // Some servers close the connection after a 401: try once more on a new one.
          if (!(err instanceof CameraError) || err.code !== 'EDGE_CAMERA_CONNECT') throw err;
          conn.close();
          conn = await connect();
          res = await describe();
        }
      }
    }
    expectOk(res, 'DESCRIBE');
    const sdp = parseSdp(res.body.toString('utf8'));
    const video = videoOf(sdp);
    if (!video) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', 'RTSP: the SDP has no video stream with a known payload type');
    const result: RtspProbeResult = { codec: video.codec, payloadType: video.payloadType, clockRate: video.clockRate };
    const size = video.width && video.height ? { width: video.width, height: video.height } : video.codec === 'H264' ? h264Resolution(video.fmtp) : undefined;
    if (size) Object.assign(result, size);
    if (opts.mode !== 'frame') return result;

    try {
      const base = rtspBaseUrl(requestUri, res.headers.get('content-base')?.[0], res.headers.get('content-location')?.[0]);
      const urls = rtspControlUrls(base, sdp.control, video.control);
      const collector = new FirstFrameCollector(video.payloadType, video.codec, opts.maxFrameBytes ?? 4 * 1024 * 1024);
      const frame = await firstFrame(conn, urls, collector, authHeaders);
      result.frame = frame;
      if (result.width === undefined && frame.width && frame.height) Object.assign(result, { width: frame.width, height: frame.height });
    } catch (err) {
      const e = err instanceof CameraError ? err : new CameraError('EDGE_CAMERA_BAD_RESPONSE', 'RTSP: frame check failed', { cause: err });
      result.frameError = { code: e.code, message: e.message };
    }
    return result;
  } finally {
    conn.close();
  }
}

function expectOk(res: RtspResponse, method: string): void {
  if (res.status === 401) throw new CameraError('EDGE_CAMERA_UNAUTHORIZED', `RTSP ${method}: credentials rejected (401)`, { status: 401 });
  if (res.status !== 200) throw new CameraError('EDGE_CAMERA_STATUS', `RTSP ${method}: ${res.status} ${res.reason}`, { status: res.status });
}

async function firstFrame(
  conn: RtspConnection,
  urls: RtspControlUrls,
  collector: FirstFrameCollector,
  authHeaders: (method: string, target: string) => Record<string, string>,
): Promise<RtspFrame> {
  const setup = await conn.request('SETUP', urls.media, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1', ...authHeaders('SETUP', urls.media) });
  expectOk(setup, 'SETUP');
  const session = (setup.headers.get('session')?.[0] ?? '').split(';')[0]?.trim();
  if (!session) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', 'RTSP SETUP: no Session header');
  const channel = Number(/interleaved=(\d+)/.exec(setup.headers.get('transport')?.[0] ?? '')?.[1] ?? 0);
  const frame = new Promise<RtspFrame>((resolve, reject) => {
    conn.onClose(reject);
    conn.onFrame((ch, data) => {
      if (ch !== channel) return;
      const rtp = parseRtp(data);
      if (!rtp) return;
      try {
        const done = collector.push(rtp);
        if (done) resolve(done);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
  frame.catch(() => undefined);
  // PLAY goes to the aggregate URL when the SDP names one (servers may refuse it elsewhere with 460).
  const play = await conn.request('PLAY', urls.play, { Session: session, Range: 'npt=0.000-', ...authHeaders('PLAY', urls.play) });
  expectOk(play, 'PLAY');
  const got = await frame;
  conn.send('TEARDOWN', urls.play, { Session: session, ...authHeaders('TEARDOWN', urls.play) });
  return got;
}
