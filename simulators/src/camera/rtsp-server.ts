import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { CameraState, StreamProfile } from './camera-state.js';
import { DigestAuth } from './http-digest.js';
import { RTP_PAYLOAD_JPEG } from './rtp-jpeg.js';
import { formatResponse, RtspParser, type RtspRequest } from './rtsp-parser.js';
import { RtspSession, type RtpTransport } from './rtsp-session.js';

export interface RtspServerOptions {
  state: CameraState;
  logger: Logger;
}

const PUBLIC = 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER';
const NEEDS_AUTH = new Set(['DESCRIBE', 'SETUP', 'PLAY', 'PAUSE']);
const TRACK = 'trackID=1';

/** The SDP of a profile: MJPEG (RTP payload 26, 90 kHz) with its size and rate. */
export function sdpFor(state: CameraState, profile: StreamProfile, sessionId: string): string {
  return (
    [
      'v=0',
      `o=- ${sessionId} 1 IN IP4 ${state.host}`,
      `s=${state.name.replace(/[\r\n]/g, ' ')}`,
      `i=${profile.name}`,
      `c=IN IP4 0.0.0.0`,
      't=0 0',
      'a=tool:cityedge-sim-camera',
      'a=control:*',
      'a=range:npt=0-',
      `m=video 0 RTP/AVP ${RTP_PAYLOAD_JPEG}`,
      `a=rtpmap:${RTP_PAYLOAD_JPEG} JPEG/90000`,
      `a=framerate:${profile.fps}`,
      `a=framesize:${RTP_PAYLOAD_JPEG} ${profile.width}-${profile.height}`,
      `a=x-dimensions:${profile.width},${profile.height}`,
      `a=control:${TRACK}`,
    ].join('\r\n') + '\r\n'
  );
}

interface Conn {
  socket: net.Socket;
  sessions: Set<RtspSession>;
}

/**
 * RTSP 1.0 server over TCP streaming MJPEG (RFC 2435) per profile at rtsp://host:port/stream1
 * and /stream2. RTP over the RTSP connection (interleaved) or UDP to the loopback client.
 * Digest auth (MD5, RFC 2069 style challenge) on DESCRIBE, SETUP, PLAY and PAUSE.
 */
export class RtspServer {
  private server: net.Server | undefined;
  private readonly conns = new Set<Conn>();
  private readonly sessions = new Map<string, RtspSession>();
  private readonly digest: DigestAuth;

  constructor(private readonly options: RtspServerOptions) {
    const { state } = options;
    this.digest = new DigestAuth({ realm: `IP Camera(${state.serial})`, qop: false, now: () => state.wallNow() });
  }

  async start(): Promise<void> {
    if (this.server) return;
    const { state } = this.options;
    const server = net.createServer((socket) => this.attach(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(state.rtspPort, state.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') state.rtspPort = addr.port;
    this.server = server;
  }

  /** Closes the listener (connections are then refused), every connection and session. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
    for (const c of this.conns) c.socket.destroy();
    this.conns.clear();
    this.digest.reset();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private attach(socket: net.Socket): void {
    const conn: Conn = { socket, sessions: new Set() };
    this.conns.add(conn);
    const parser = new RtspParser();
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.conns.delete(conn);
      for (const s of conn.sessions) this.endSession(s);
    });
    socket.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      for (let item = parser.next(); item; item = parser.next()) {
        if (item.kind === 'bad') {
          this.options.logger.debug({ reason: item.reason }, 'bad RTSP input: closing');
          socket.end(formatResponse(400, []));
          return;
        }
        if (item.kind === 'interleaved') {
          for (const s of conn.sessions) s.touch(); // RTCP receiver reports keep sessions alive
          continue;
        }
        this.handle(conn, item.request);
      }
    });
  }

  private endSession(s: RtspSession): void {
    s.close();
    this.sessions.delete(s.id);
    for (const c of this.conns) c.sessions.delete(s);
  }

  private handle(conn: Conn, req: RtspRequest): void {
    const { state } = this.options;
    const cseq = req.headers.get('cseq');
    const reply = (status: number, headers: Array<[string, string | number]> = [], body?: string) => {
      if (!conn.socket.destroyed) conn.socket.write(formatResponse(status, [['CSeq', cseq ?? '0'], ['Server', 'cityedge-sim-camera'], ['Date', new Date(state.now()).toUTCString()], ...headers], body));
    };
    if (cseq === undefined) return reply(400);
    if (req.version !== 'RTSP/1.0') return reply(505);
    if (NEEDS_AUTH.has(req.method) && state.spec.rtspAuth === 'digest') {
      const verdict = this.digest.verify(req.headers.get('authorization'), req.method, req.url, state.spec.username, state.password);
      if (verdict !== 'ok') {
        if (verdict !== 'missing') state.countAuthFailure('rtsp');
        return reply(401, [['WWW-Authenticate', this.digest.challenge(verdict === 'stale')]]);
      }
    }
    const sessionHeader = req.headers.get('session')?.split(';')[0]?.trim();
    const session = sessionHeader === undefined ? undefined : this.sessions.get(sessionHeader);
    if (sessionHeader !== undefined && !session && req.method !== 'OPTIONS' && req.method !== 'DESCRIBE') return reply(454);
    session?.touch();
    const sessionOut: Array<[string, string]> = session ? [['Session', `${session.id};timeout=${state.spec.rtspSessionTimeoutSec}`]] : [];
    const profile = this.profileOf(req.url);

    switch (req.method) {
      case 'OPTIONS':
        return reply(200, [['Public', PUBLIC]]);
      case 'DESCRIBE': {
        if (!profile) return reply(404);
        const base = req.url.endsWith('/') ? req.url : `${req.url}/`;
        return reply(200, [['Content-Type', 'application/sdp'], ['Content-Base', base]], sdpFor(state, profile, randomBytes(4).readUInt32BE(0).toString()));
      }
      case 'SETUP':
        return this.setup(conn, req, profile, session, reply);
      case 'PLAY': {
        if (!session) return reply(454);
        session.play();
        state.stats.rtspSessions++;
        const trackUrl = `${this.mediaUrl(req.url)}/${TRACK}`;
        return reply(200, [...sessionOut, ['Range', 'npt=0.000-'], ['RTP-Info', `url=${trackUrl};seq=${session.rtp.seq};rtptime=${session.rtpTime()}`]]);
      }
      case 'PAUSE':
        if (!session) return reply(454);
        session.pause();
        return reply(200, sessionOut);
      case 'TEARDOWN':
        if (session) this.endSession(session);
        return reply(200);
      case 'GET_PARAMETER':
      case 'SET_PARAMETER':
        return reply(200, sessionOut);
      default:
        return reply(501, [['Public', PUBLIC]]);
    }
  }

  private setup(conn: Conn, req: RtspRequest, profile: StreamProfile | undefined, existing: RtspSession | undefined, reply: (status: number, headers?: Array<[string, string | number]>) => void): void {
    const { state, logger } = this.options;
    if (!profile) return reply(404);
    if (existing) return reply(459); // one track per presentation: a second SETUP is not an aggregate we offer
    const specs = (req.headers.get('transport') ?? '').split(',').map((s) => s.trim());
    for (const spec of specs) {
      const parts = spec.split(';').map((p) => p.trim());
      const proto = parts[0]?.toUpperCase();
      if (parts.includes('multicast')) continue;
      const param = (name: string) => parts.find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);
      if (proto === 'RTP/AVP/TCP') {
        const m = /^(\d+)(?:-(\d+))?$/.exec(param('interleaved') ?? '0-1');
        const rtpChannel = Number(m?.[1] ?? 0);
        const rtcpChannel = m?.[2] !== undefined ? Number(m[2]) : rtpChannel + 1;
        if (!m || rtpChannel > 255 || rtcpChannel > 255) continue;
        const session = this.newSession(conn, profile, { kind: 'tcp', socket: conn.socket, rtpChannel, rtcpChannel });
        return reply(200, [
          ['Transport', `RTP/AVP/TCP;unicast;interleaved=${rtpChannel}-${rtcpChannel};ssrc=${session.rtp.ssrc.toString(16).toUpperCase().padStart(8, '0')};mode="PLAY"`],
          ['Session', `${session.id};timeout=${state.spec.rtspSessionTimeoutSec}`],
        ]);
      }
      if (proto === 'RTP/AVP' || proto === 'RTP/AVP/UDP') {
        const m = /^(\d+)-(\d+)$/.exec(param('client_port') ?? '');
        const host = conn.socket.remoteAddress ?? '';
        if (!m || !net.isIPv4(host) || !host.startsWith('127.')) {
          logger.debug({ host, spec }, 'UDP transport refused (only to a loopback client with client_port)');
          continue;
        }
        void this.setupUdp(conn, profile, host, Number(m[1]), Number(m[2]), reply);
        return;
      }
    }
    reply(461);
  }

  private async setupUdp(conn: Conn, profile: StreamProfile, clientHost: string, clientRtpPort: number, clientRtcpPort: number, reply: (status: number, headers?: Array<[string, string | number]>) => void): Promise<void> {
    const bind = (port: number) =>
      new Promise<dgram.Socket>((resolve, reject) => {
        const s = dgram.createSocket('udp4');
        s.once('error', reject);
        s.bind(port, '127.0.0.1', () => {
          s.off('error', reject);
          s.on('error', () => undefined);
          s.on('message', () => ref.session?.touch()); // RTCP from the client keeps the session alive
          resolve(s);
        });
      });
    const ref: { session?: RtspSession } = {};
    let rtp: dgram.Socket | undefined;
    let rtcp: dgram.Socket | undefined;
    for (let attempt = 0; attempt < 5 && !rtcp; attempt++) {
      rtp?.close();
      rtp = await bind(0);
      rtcp = await bind(rtp.address().port + 1).catch(() => undefined);
    }
    if (!rtp || !rtcp || conn.socket.destroyed) {
      rtp?.close();
      rtcp?.close();
      return reply(rtp && rtcp ? 454 : 461);
    }
    const session = this.newSession(conn, profile, { kind: 'udp', rtp, rtcp, clientHost, clientRtpPort, clientRtcpPort });
    ref.session = session;
    reply(200, [
      ['Transport', `RTP/AVP;unicast;client_port=${clientRtpPort}-${clientRtcpPort};server_port=${rtp.address().port}-${rtcp.address().port};ssrc=${session.rtp.ssrc.toString(16).toUpperCase().padStart(8, '0')}`],
      ['Session', `${session.id};timeout=${this.options.state.spec.rtspSessionTimeoutSec}`],
    ]);
  }

  private newSession(conn: Conn, profile: StreamProfile, transport: RtpTransport): RtspSession {
    const id = randomBytes(6).toString('hex').toUpperCase();
    const session = new RtspSession({
      id,
      profile,
      transport,
      state: this.options.state,
      timeoutSec: this.options.state.spec.rtspSessionTimeoutSec,
      onExpire: (s) => {
        this.options.logger.debug({ session: s.id }, 'RTSP session timed out');
        this.endSession(s);
      },
      logger: this.options.logger.child({ session: id }),
    });
    this.sessions.set(id, session);
    conn.sessions.add(session);
    return session;
  }

  /** The stream URL without a track suffix. */
  private mediaUrl(url: string): string {
    return url.replace(/\/+$/, '').replace(new RegExp(`/${TRACK}$`), '');
  }

  private profileOf(url: string): StreamProfile | undefined {
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      return undefined;
    }
    const first = path.split('/').filter(Boolean)[0];
    return first === undefined ? undefined : this.options.state.profileByPath(first);
  }
}
