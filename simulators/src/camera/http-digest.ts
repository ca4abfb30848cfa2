import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** Parses `Digest k=v, k="v", ...` into lower-cased keys; undefined when it is not a Digest header. */
export function parseDigestParams(header: string | undefined): Map<string, string> | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  let part: RegExpExecArray | null;
  while ((part = re.exec(m[1])) !== null && part[0] !== '') {
    params.set((part[1] ?? '').toLowerCase(), part[2] !== undefined ? part[2].replace(/\\(.)/g, '$1') : (part[3] ?? ''));
  }
  return params;
}

/** The Digest response a client computes (RFC 7616 with qop=auth, or RFC 2069 without qop). */
export function digestResponse(p: { username: string; realm: string; password: string; method: string; uri: string; nonce: string; nc?: string; cnonce?: string; qop?: string }): string {
  const ha1 = md5(`${p.username}:${p.realm}:${p.password}`);
  const ha2 = md5(`${p.method}:${p.uri}`);
  return p.qop ? md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
}

export type DigestVerdict = 'ok' | 'missing' | 'bad' | 'stale';

export interface DigestAuthOptions {
  realm: string;
  /** Offer qop="auth" (HTTP, RFC 7616). Without it the challenge is RFC 2069 style, as most RTSP cameras send it. */
  qop: boolean;
  /** Epoch ms (nonce age). */
  now: () => number;
  nonceTtlMs?: number;
  maxNonces?: number;
}

interface NonceState {
  issuedAt: number;
  /** "nc:cnonce" pairs already used with this nonce (replay check). */
  used: Set<string>;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Issues Digest challenges (MD5) and checks Authorization headers against them. */
export class DigestAuth {
  private readonly nonces = new Map<string, NonceState>();
  private readonly opaque = randomBytes(8).toString('hex');

  constructor(private readonly options: DigestAuthOptions) {}

  /** A WWW-Authenticate value with a fresh nonce. */
  challenge(stale = false): string {
    const nonce = randomBytes(16).toString('hex');
    const max = this.options.maxNonces ?? 5000;
    while (this.nonces.size >= max) {
      const oldest = this.nonces.keys().next().value;
      if (oldest === undefined) break;
      this.nonces.delete(oldest);
    }
    this.nonces.set(nonce, { issuedAt: this.options.now(), used: new Set() });
    const qop = this.options.qop ? ', qop="auth"' : '';
    return `Digest realm="${this.options.realm}"${qop}, nonce="${nonce}", opaque="${this.opaque}", algorithm=MD5${stale ? ', stale=TRUE' : ''}`;
  }

  /** Forgets every nonce (a reboot). */
  reset(): void {
    this.nonces.clear();
  }

  verify(authorization: string | undefined, method: string, uri: string, username: string, password: string): DigestVerdict {
    const p = parseDigestParams(authorization);
    if (!p) return 'missing';
    const nonce = p.get('nonce') ?? '';
    const response = p.get('response') ?? '';
    const qop = p.get('qop');
    const algorithm = (p.get('algorithm') ?? 'MD5').toUpperCase();
    if (algorithm !== 'MD5' || p.get('username') !== username || p.get('realm') !== this.options.realm || p.get('uri') !== uri) return 'bad';
    if (qop !== undefined && (qop !== 'auth' || !p.get('nc') || !p.get('cnonce'))) return 'bad';
    if (this.options.qop && qop === undefined) return 'bad';
    const expected = digestResponse({ username, realm: this.options.realm, password, method, uri, nonce, ...(qop ? { qop, nc: p.get('nc') ?? '', cnonce: p.get('cnonce') ?? '' } : {}) });
    if (!same(response.toLowerCase(), expected)) return 'bad';
    const state = this.nonces.get(nonce);
    if (!state || this.options.now() - state.issuedAt > (this.options.nonceTtlMs ?? 300_000)) return 'stale';
    if (qop) {
      const key = `${p.get('nc')}:${p.get('cnonce')}`;
      if (state.used.has(key)) return 'bad';
      state.used.add(key);
    }
    return 'ok';
  }
}

/** Checks `Authorization: Basic ...`. */
export function basicMatches(authorization: string | undefined, username: string, password: string): boolean {
  const m = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!m?.[1]) return false;
  return same(Buffer.from(m[1], 'base64').toString('utf8'), `${username}:${password}`);
}
