/**
 * The parts of an SDP (RFC 8866) a stream check needs: the video media, its codec from
 * a=rtpmap (or the static payload type), its resolution from a=framesize, a=x-dimensions or
 * the H.264 sprop-parameter-sets, and the control attributes (resolved in rtsp-control-url.ts).
 */

export interface SdpMedia {
  type: string;
  port: number;
  proto: string;
  payloadTypes: number[];
  /** a=rtpmap per payload type. */
  rtpmap: Map<number, { encoding: string; clockRate: number }>;
  fmtp: Map<number, string>;
  control: string | undefined;
  width: number | undefined;
  height: number | undefined;
}

export interface Sdp {
  sessionName: string | undefined;
  control: string | undefined;
  media: SdpMedia[];
}

export interface SdpVideo {
  payloadType: number;
  /** Upper-case encoding name: JPEG, H264, H265, MP4V-ES... */
  codec: string;
  clockRate: number;
  width: number | undefined;
  height: number | undefined;
  control: string | undefined;
  fmtp: string | undefined;
}

/** Static RTP/AVP video payload types (RFC 3551). */
const STATIC_VIDEO: Record<number, { encoding: string; clockRate: number }> = {
  26: { encoding: 'JPEG', clockRate: 90000 },
  31: { encoding: 'H261', clockRate: 90000 },
  32: { encoding: 'MPV', clockRate: 90000 },
  33: { encoding: 'MP2T', clockRate: 90000 },
  34: { encoding: 'H263', clockRate: 90000 },
};

const MAX_LINES = 2000;

/** Parses SDP text leniently: unknown or malformed lines are skipped. */
export function parseSdp(text: string): Sdp {
  const sdp: Sdp = { sessionName: undefined, control: undefined, media: [] };
  let current: SdpMedia | undefined;
  const lines = text.split(/\r?\n/, MAX_LINES);
  for (const raw of lines) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== '=') continue;
    const kind = line[0];
    const value = line.slice(2);
    if (kind === 's' && !current) sdp.sessionName = value.slice(0, 128);
    else if (kind === 'm') {
      const [type = '', port = '', proto = '', ...fmts] = value.split(/\s+/);
      current = {
        type,
        port: Number(port.split('/')[0]) || 0,
        proto,
        payloadTypes: fmts.map(Number).filter((n) => Number.isInteger(n) && n >= 0 && n < 128),
        rtpmap: new Map(),
        fmtp: new Map(),
        control: undefined,
        width: undefined,
        height: undefined,
      };
      if (sdp.media.length < 16) sdp.media.push(current);
    } else if (kind === 'a') {
      const colon = value.indexOf(':');
      const name = colon < 0 ? value : value.slice(0, colon);
      const arg = colon < 0 ? '' : value.slice(colon + 1).trim();
      if (name === 'control') {
        if (current) current.control = arg;
        else sdp.control = arg;
      } else if (current) attribute(current, name, arg);
    }
  }
  return sdp;
}

function attribute(m: SdpMedia, name: string, arg: string): void {
  if (name === 'rtpmap') {
    const r = /^(\d+)\s+([^/\s]+)\/(\d+)/.exec(arg);
    if (r) m.rtpmap.set(Number(r[1]), { encoding: (r[2] ?? '').toUpperCase(), clockRate: Number(r[3]) });
  } else if (name === 'fmtp') {
    const r = /^(\d+)\s+(.*)$/.exec(arg);
    if (r) m.fmtp.set(Number(r[1]), (r[2] ?? '').slice(0, 4096));
  } else if (name === 'framesize') {
    // a=framesize:26 640-480
    const r = /^\d+\s+(\d+)-(\d+)/.exec(arg);
    if (r) setSize(m, Number(r[1]), Number(r[2]));
  } else if (name === 'x-dimensions') {
    // a=x-dimensions:640,480
    const r = /^(\d+)\s*,\s*(\d+)/.exec(arg);
    if (r) setSize(m, Number(r[1]), Number(r[2]));
  }
}

function setSize(m: SdpMedia, w: number, h: number): void {
  if (w > 0 && h > 0 && w <= 16384 && h <= 16384) {
    m.width = w;
    m.height = h;
  }
}

/** The first video media with a payload type we can name, or undefined. */
export function videoOf(sdp: Sdp): SdpVideo | undefined {
  for (const m of sdp.media) {
    if (m.type !== 'video') continue;
    for (const pt of m.payloadTypes) {
      const map = m.rtpmap.get(pt) ?? STATIC_VIDEO[pt];
      if (!map) continue;
      return { payloadType: pt, codec: map.encoding, clockRate: map.clockRate, width: m.width, height: m.height, control: m.control, fmtp: m.fmtp.get(pt) };
    }
  }
  return undefined;
}
