import { createHash, randomBytes } from 'node:crypto';

/**
 * Client side of HTTP/RTSP authentication (RFC 7616 Digest, RFC 2069 Digest without qop, RFC
 * 7617 Basic), shared by the snapshot fetch and the RTSP probe. Digest is preferred over
 * Basic, SHA-256 over MD5; Basic is only used when it is all the server offers.
 */

export interface Challenge {
  scheme: 'digest' | 'basic';
  params: Map<string, string>;
}

/** Parses the WWW-Authenticate header values (one challenge per value). Unknown schemes are skipped. */
export function parseChallenges(values: readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) {
    const m = /^\s*(Digest|Basic)\b\s*(.*)$/is.exec(value);
    if (!m) continue;
    const scheme = (m[1] ?? '').toLowerCase() as Challenge['scheme'];
    out.push({ scheme, params: parseParams(m[2] ?? '') });
  }
  return out;
}

/** `k=v, k="v", ...` with quoted strings (and escapes), keys lower-cased. */
export function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  let part: RegExpExecArray | null;
  while (params.size < 32 && (part = re.exec(text)) !== null && part[0] !== '') {
    params.set((part[1] ?? '').toLowerCase(), part[2] !== undefined ? part[2].replace(/\\(.)/g, '$1') : (part[3] ?? ''));
  }
  return params;
}

const HASHES: Record<string, string> = { 'MD5': 'md5', 'MD5-SESS': 'md5', 'SHA-256': 'sha256', 'SHA-256-SESS': 'sha256' };

function pick(challenges: readonly Challenge[]): Challenge | undefined {
  const digests = challenges.filter((c) => c.scheme === 'digest' && (HASHES[(c.params.get('algorithm') ?? 'MD5').toUpperCase()] !== undefined));
  const sha = digests.find((c) => (c.params.get('algorithm') ?? '').toUpperCase().startsWith('SHA-256'));
  return sha ?? digests[0] ?? challenges.find((c) => c.scheme === 'basic');
}

/** Keeps the nonce count per server nonce across requests of one client. */
export class DigestSession {
  private nc = 0;
  private nonce = '';
  private readonly cnonceSource: () => string;

  constructor(
    private readonly username: string,
    private readonly password: string,
    cnonce?: () => string,
  ) {
    this.cnonceSource = cnonce ?? (() => randomBytes(8).toString('hex'));
  }

  /** The Authorization header answering the best of the challenges, or undefined when none can be answered. */
  authorize(challenges: readonly Challenge[], method: string, uri: string): string | undefined {
    const c = pick(challenges);
    if (!c) return undefined;
    if (c.scheme === 'basic') return `Basic ${Buffer.from(`${this.username}:${this.password}`, 'utf8').toString('base64')}`;
    const realm = c.params.get('realm') ?? '';
    const nonce = c.params.get('nonce') ?? '';
    const algorithm = (c.params.get('algorithm') ?? 'MD5').toUpperCase();
    const hashName = HASHES[algorithm] ?? 'md5';
    const h = (s: string) => createHash(hashName).update(s, 'utf8').digest('hex');
    const qops = (c.params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
    const qop = qops.includes('auth') ? 'auth' : undefined;
    if (nonce !== this.nonce) {
      this.nonce = nonce;
      this.nc = 0;
    }
    const cnonce = this.cnonceSource();
    let ha1 = h(`${this.username}:${realm}:${this.password}`);
    if (algorithm.endsWith('-SESS')) ha1 = h(`${ha1}:${nonce}:${cnonce}`);
    const ha2 = h(`${method}:${uri}`);
    const parts = [`username="${quote(this.username)}"`, `realm="${quote(realm)}"`, `nonce="${quote(nonce)}"`, `uri="${quote(uri)}"`];
    if (c.params.has('algorithm')) parts.push(`algorithm=${c.params.get('algorithm') ?? 'MD5'}`);
    let response: string;
    if (qop) {
      const nc = (++this.nc).toString(16).padStart(8, '0');
      response = h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
      parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
    } else {
      response = h(`${ha1}:${nonce}:${ha2}`);
    }
    parts.push(`response="${response}"`);
    const opaque = c.params.get('opaque');
    if (opaque !== undefined) parts.push(`opaque="${quote(opaque)}"`);
    return `Digest ${parts.join(', ')}`;
  }
}

function quote(s: string): string {
  return s.replace(/["\\]/g, '\\$&');
}
