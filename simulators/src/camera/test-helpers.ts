/**
 * Test-only clients written from the specifications, independent of the simulator's own auth
 * code: WS-UsernameToken and Digest are computed here with node:crypto.
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

export const SOAP_ENV = 'http://www.w3.org/2003/05/soap-envelope';
export const TDS = 'http://www.onvif.org/ver10/device/wsdl';
export const TRT = 'http://www.onvif.org/ver10/media/wsdl';
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const DIGEST_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';

export interface TokenParts {
  username: string;
  password: string;
  /** Epoch ms written as wsu:Created (default now). */
  createdMs?: number;
  /** Raw nonce bytes (default 16 random bytes). */
  nonce?: Buffer;
  omitNonce?: boolean;
  omitCreated?: boolean;
  passwordText?: boolean;
}

/** A wsse:Security header computed independently: Base64(SHA1(nonce + Created + password)). */
export function securityHeader(t: TokenParts): string {
  const nonce = t.nonce ?? randomBytes(16);
  const created = new Date(t.createdMs ?? Date.now()).toISOString();
  const digest = createHash('sha1')
    .update(Buffer.concat([t.omitNonce ? Buffer.alloc(0) : nonce, Buffer.from(t.omitCreated ? '' : created), Buffer.from(t.password)]))
    .digest('base64');
  const password = t.passwordText
    ? `<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">${t.password}</wsse:Password>`
    : `<wsse:Password Type="${DIGEST_TYPE}">${digest}</wsse:Password>`;
  return (
    `<wsse:Security xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}" s:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>${t.username}</wsse:Username>${password}` +
    (t.omitNonce || t.passwordText ? '' : `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString('base64')}</wsse:Nonce>`) +
    (t.omitCreated || t.passwordText ? '' : `<wsu:Created>${created}</wsu:Created>`) +
    `</wsse:UsernameToken></wsse:Security>`
  );
}

export function soapEnvelope(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP_ENV}" xmlns:tds="${TDS}" xmlns:trt="${TRT}" xmlns:tt="http://www.onvif.org/ver10/schema"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

export async function soapPost(url: string, xml: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', ...headers }, body: xml, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** Parses a WWW-Authenticate Digest challenge. */
export function parseChallenge(header: string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (header ?? '').replace(/^Digest\s+/i, '').matchAll(/([a-z]+)=(?:"([^"]*)"|([^,\s]*))/gi)) out[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

/** An Authorization header answering a Digest challenge (qop=auth when offered, RFC 2069 otherwise). */
export function digestAuthorization(challenge: Record<string, string>, method: string, uri: string, username: string, password: string, nc = 1): string {
  const ha1 = md5(`${username}:${challenge.realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const ncHex = nc.toString(16).padStart(8, '0');
  const cnonce = randomBytes(8).toString('hex');
  const qop = challenge.qop?.split(',').map((s) => s.trim()).includes('auth') ? 'auth' : undefined;
  const response = qop ? md5(`${ha1}:${challenge.nonce}:${ncHex}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${challenge.nonce}:${ha2}`);
  let h = `Digest username="${username}", realm="${challenge.realm}", nonce="${challenge.nonce}", uri="${uri}", response="${response}", algorithm=MD5`;
  if (challenge.opaque) h += `, opaque="${challenge.opaque}"`;
  if (qop) h += `, qop=${qop}, nc=${ncHex}, cnonce="${cnonce}"`;
  return h;
}

/** GET with HTTP Digest (first request unauthenticated to get the challenge). */
export async function digestFetch(url: string, username: string, password: string, init: RequestInit = {}): Promise<Response> {
  const first = await fetch(url, init);
  if (first.status !== 401) return first;
  await first.arrayBuffer();
  const u = new URL(url);
  const auth = digestAuthorization(parseChallenge(first.headers.get('www-authenticate')), init.method ?? 'GET', u.pathname + u.search, username, password);
  return fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), Authorization: auth } });
}

export interface RtspReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A raw RTSP client over TCP: sends requests, reads replies and interleaved RTP. */
export class RawRtspClient {
  private buf = Buffer.alloc(0);
  private cseq = 0;
  private waiters: Array<() => void> = [];
  readonly interleaved: Array<{ channel: number; data: Buffer }> = [];
  readonly replies: RtspReply[] = [];
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.drain();
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawRtspClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve(new RawRtspClient(s));
      });
      s.once('error', reject);
    });
  }

  private drain(): void {
    for (;;) {
      if (this.buf.length === 0) return;
      if (this.buf[0] === 0x24) {
        if (this.buf.length < 4) return;
        const len = this.buf.readUInt16BE(2);
        if (this.buf.length < 4 + len) return;
        this.interleaved.push({ channel: this.buf[1] ?? 0, data: Buffer.from(this.buf.subarray(4, 4 + len)) });
        this.buf = this.buf.subarray(4 + len);
        continue;
      }
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buf.subarray(0, end).toString().split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? 0);
      if (this.buf.length < end + 4 + len) return;
      this.replies.push({ status: Number(lines[0]?.split(' ')[1]), headers, body: this.buf.subarray(end + 4, end + 4 + len).toString() });
      this.buf = this.buf.subarray(end + 4 + len);
    }
  }

  async until(pred: () => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.closed) throw new Error('RTSP connection closed');
      if (Date.now() > deadline) throw new Error('timed out waiting on RTSP');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async request(method: string, url: string, headers: Record<string, string> = {}): Promise<RtspReply> {
    const cseq = ++this.cseq;
    const head = [`${method} ${url} RTSP/1.0`, `CSeq: ${cseq}`, 'User-Agent: raw-test', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
    this.socket.write(`${head}\r\n\r\n`);
    await this.until(() => this.replies.some((r) => r.headers.cseq === String(cseq)));
    const reply = this.replies.find((r) => r.headers.cseq === String(cseq));
    if (!reply) throw new Error('no reply');
    return reply;
  }

  /** A request answered with Digest: sends it, and on 401 again with Authorization. */
  async authed(method: string, url: string, username: string, password: string, headers: Record<string, string> = {}): Promise<RtspReply> {
    const first = await this.request(method, url, headers);
    if (first.status !== 401) return first;
    return this.request(method, url, { ...headers, Authorization: digestAuthorization(parseChallenge(first.headers['www-authenticate']), method, url, username, password) });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends a datagram to 127.0.0.1:port from a fresh socket and collects the replies for waitMs. */
export async function udpExchange(port: number, payload: string | Buffer, waitMs: number): Promise<Buffer[]> {
  const socket = dgram.createSocket('udp4');
  const replies: Buffer[] = [];
  socket.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((resolve, reject) => socket.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  await new Promise((r) => setTimeout(r, waitMs));
  await new Promise<void>((r) => socket.close(() => r()));
  return replies;
}

export function probeXml(types = 'dn:NetworkVideoTransmitter', scopes?: string, messageId = `uuid:${randomBytes(16).toString('hex')}`): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${SOAP_ENV}" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="${TDS}">` +
    `<s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>${messageId}</a:MessageID>` +
    `<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>` +
    `<s:Body><d:Probe>${types ? `<d:Types>${types}</d:Types>` : ''}${scopes ? `<d:Scopes>${scopes}</d:Scopes>` : ''}</d:Probe></s:Body></s:Envelope>`
  );
}

/** A settable clock for tests. */
export function manualClock(start = Date.UTC(2025, 5, 1, 12, 0, 0)): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}

/** Ports free on 127.0.0.1 right now (bound together, then released), for specs that fix their ports. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Status of an unauthenticated DESCRIBE of stream1 on 127.0.0.1:port. */
export async function rtspStatus(port: number): Promise<number> {
  const client = await RawRtspClient.connect(port);
  try {
    return (await client.request('DESCRIBE', `rtsp://127.0.0.1:${port}/stream1`)).status;
  } finally {
    client.close();
  }
}
