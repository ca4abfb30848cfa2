import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** SHA-256 hex, for high-entropy secrets (enrollment codes, API tokens) looked up by hash. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** 32 random bytes, base64url: gateway MQTT passwords. */
export function randomPassword(): string {
  return randomBytes(32).toString('base64url');
}

/** Operator API token: a recognisable prefix and 32 random bytes. */
export function randomApiToken(): string {
  return `cer_${randomBytes(32).toString('base64url')}`;
}

export function randomId(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

// Crockford base32 without I, L, O, U: easy to read aloud and type from a phone.
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** An enrollment code: 20 base32 characters (100 bits) in groups of four, e.g. 7K3M-QX2P-... */
export function randomEnrollmentCode(): string {
  const bytes = randomBytes(20);
  let out = '';
  for (let i = 0; i < 20; i++) {
    if (i > 0 && i % 4 === 0) out += '-';
    out += CODE_ALPHABET[bytes[i]! & 31];
  }
  return out;
}

/** What a typed code is compared as: upper case, no separators, O->0 and I/L->1. */
export function normalizeEnrollmentCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` with a fresh 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * `sha256$salt$hash` (HMAC-SHA-256 keyed with a fresh 16-byte salt) for machine-made secrets of
 * 32 random bytes (gateway MQTT passwords, randomPassword): 256 bits cannot be guessed, so a slow
 * KDF adds no protection and only costs ~50 ms of a core at every broker login and config fetch
 * (the connect storm of a province). Human-chosen passwords (operator accounts) stay on scrypt.
 */
export function hashRandomSecret(secret: string): string {
  const salt = randomBytes(16);
  return ['sha256', salt.toString('base64'), keyedSha256(salt, secret).toString('base64')].join('$');
}

function keyedSha256(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

/** Checks a password against a stored `scrypt$…` (hashPassword) or `sha256$…` (hashRandomSecret) hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length === 3 && parts[0] === 'sha256') return verifyKeyedSha256(password, parts[1]!, parts[2]!);
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p) || expected.length === 0) return false;
  const key = await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(key, expected);
}

function verifyKeyedSha256(password: string, salt: string, hash: string): boolean {
  const expected = Buffer.from(hash, 'base64');
  if (expected.length !== 32) return false;
  return timingSafeEqual(keyedSha256(Buffer.from(salt, 'base64'), password), expected);
}
