import { createHash, timingSafeEqual } from 'node:crypto';
import { NS, PASSWORD_DIGEST, PASSWORD_TEXT } from './soap.js';
import { child, esc, type XmlElement } from './xml.js';

/** A wsse:UsernameToken as found in a SOAP header. */
export interface UsernameToken {
  username: string;
  password: string;
  passwordType: 'digest' | 'text';
  /** Base64 as sent. */
  nonce?: string;
  created?: string;
}

/** Why a token was refused (logged and counted by the simulator; the client only sees ter:NotAuthorized). */
export type TokenRejection = 'no-token' | 'malformed' | 'unknown-user' | 'bad-password' | 'no-nonce' | 'no-created' | 'text-not-allowed' | 'clock-skew' | 'replay';

/** PasswordDigest = Base64(SHA1(nonce bytes + Created + password)); the nonce is Base64-decoded first. */
export function passwordDigest(nonceBase64: string, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonceBase64, 'base64'), Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

/** Reads the UsernameToken of an env:Header; undefined when there is none, 'malformed' when it lacks a username or password. */
export function extractUsernameToken(header: XmlElement | undefined): UsernameToken | 'malformed' | undefined {
  const token = child(child(header, NS.wsse, 'Security'), NS.wsse, 'UsernameToken');
  if (!token) return undefined;
  const username = child(token, NS.wsse, 'Username')?.text.trim();
  const passwordEl = child(token, NS.wsse, 'Password');
  if (!username || !passwordEl) return 'malformed';
  const type = passwordEl.attrs.get('Type') ?? PASSWORD_TEXT; // the profile's default type is PasswordText
  if (type !== PASSWORD_DIGEST && type !== PASSWORD_TEXT) return 'malformed';
  const nonce = child(token, NS.wsse, 'Nonce')?.text.trim();
  const created = child(token, NS.wsu, 'Created')?.text.trim();
  return {
    username,
    password: passwordEl.text.trim(),
    passwordType: type === PASSWORD_DIGEST ? 'digest' : 'text',
    ...(nonce ? { nonce } : {}),
    ...(created ? { created } : {}),
  };
}

/** Nonces seen within a window, to refuse replays. Bounded: the oldest are forgotten first. */
export class NonceCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** True when the nonce was already used within the window; records it otherwise. */
  checkAndRemember(nonce: string, nowMs: number): boolean {
    for (const [n, at] of this.seen) {
      if (nowMs - at <= this.windowMs && this.seen.size < this.maxEntries) break;
      this.seen.delete(n);
    }
    if (this.seen.has(nonce)) return true;
    this.seen.set(nonce, nowMs);
    return false;
  }

  clear(): void {
    this.seen.clear();
  }
}

export interface TokenPolicy {
  username: string;
  password: string;
  /** The camera's clock, epoch ms. */
  cameraNowMs: number;
  toleranceMs: number;
  acceptPasswordText: boolean;
  /** Omit to skip the replay check. */
  nonces?: NonceCache;
}

const XS_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks a token against the camera's credentials and clock; undefined when it is accepted. */
export function checkUsernameToken(token: UsernameToken | 'malformed' | undefined, policy: TokenPolicy): TokenRejection | undefined {
  if (token === undefined) return 'no-token';
  if (token === 'malformed') return 'malformed';
  if (token.passwordType === 'text') {
    if (!policy.acceptPasswordText) return 'text-not-allowed';
    if (token.username !== policy.username) return 'unknown-user';
    return sameSecret(token.password, policy.password) ? undefined : 'bad-password';
  }
  if (!token.nonce || Buffer.from(token.nonce, 'base64').length === 0) return 'no-nonce';
  if (!token.created) return 'no-created';
  if (!XS_DATETIME.test(token.created)) return 'malformed';
  if (token.username !== policy.username) return 'unknown-user';
  if (!sameSecret(token.password, passwordDigest(token.nonce, token.created, policy.password))) return 'bad-password';
  const created = Date.parse(token.created);
  if (!Number.isFinite(created) || Math.abs(created - policy.cameraNowMs) > policy.toleranceMs) return 'clock-skew';
  if (policy.nonces?.checkAndRemember(token.nonce, policy.cameraNowMs)) return 'replay';
  return undefined;
}

/** Builds a wsse:Security header (for tests and tools): digest over the given nonce and Created. */
export function usernameTokenHeader(username: string, password: string, nonceBase64: string, created: string): string {
  return (
    `<wsse:Security xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}"><wsse:UsernameToken>` +
    `<wsse:Username>${esc(username)}</wsse:Username>` +
    `<wsse:Password Type="${PASSWORD_DIGEST}">${passwordDigest(nonceBase64, created, password)}</wsse:Password>` +
    `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonceBase64}</wsse:Nonce>` +
    `<wsu:Created>${created}</wsu:Created></wsse:UsernameToken></wsse:Security>`
  );
}
