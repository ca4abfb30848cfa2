import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { RateLimiter } from './rate-limiter.js';
import { SecretBox } from './secret-box.js';
import { hashPassword, hashRandomSecret, normalizeEnrollmentCode, randomEnrollmentCode, randomPassword, verifyPassword } from './secrets.js';

describe('secrets', () => {
  it('hashes passwords with a salt each and verifies only the right one', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
  });

  it('hashes random secrets with a fast salted hash that verifyPassword accepts beside scrypt', async () => {
    const secret = randomPassword();
    const a = hashRandomSecret(secret);
    expect(a).toMatch(/^sha256\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(hashRandomSecret(secret)).not.toBe(a);
    expect(await verifyPassword(secret, a)).toBe(true);
    expect(await verifyPassword(secret.slice(1), a)).toBe(false);
    // A hash cut short or with another salt is no match, never an exception.
    expect(await verifyPassword(secret, a.slice(0, -8))).toBe(false);
    expect(await verifyPassword(secret, `sha256$${Buffer.alloc(16).toString('base64')}$${a.split('$')[2]}`)).toBe(false);
    // Gateways enrolled before keep their scrypt hashes.
    expect(await verifyPassword(secret, await hashPassword(secret))).toBe(true);
  });

  it('makes readable enrollment codes that survive sloppy typing', () => {
    const code = randomEnrollmentCode();
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/);
    expect(normalizeEnrollmentCode(` ${code.toLowerCase().replace(/-/g, ' ')} `)).toBe(code.replace(/-/g, ''));
    expect(normalizeEnrollmentCode('O1l-I')).toBe('0111');
  });

  it('seals and opens secrets; a tampered or foreign one does not open', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('camera-pass');
    expect(sealed).not.toContain('camera-pass');
    expect(box.open(sealed)).toBe('camera-pass');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
    const parts = sealed.split(':');
    parts[3] = Buffer.from('other').toString('base64');
    expect(() => box.open(parts.join(':'))).toThrow();
  });
});

describe('rate limiter', () => {
  it('allows max attempts per window and key, then answers the seconds to wait', () => {
    const clock = new ManualClock();
    const rl = new RateLimiter({ max: 2, windowMs: 60_000 }, clock);
    expect([rl.hit('a'), rl.hit('a'), rl.hit('b')]).toEqual([0, 0, 0]);
    expect(rl.hit('a')).toBe(60);
    clock.advance(45_000);
    expect(rl.hit('a')).toBe(15);
    clock.advance(15_000);
    expect(rl.hit('a')).toBe(0);
  });

  it('stays bounded under many addresses', () => {
    const clock = new ManualClock();
    const rl = new RateLimiter({ max: 1, windowMs: 60_000 }, clock, 100);
    for (let i = 0; i < 1000; i++) rl.hit(`10.0.${i >> 8}.${i & 255}`);
    expect((rl as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThanOrEqual(100);
  });
});
