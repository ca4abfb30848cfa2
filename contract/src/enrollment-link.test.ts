import { describe, expect, it } from 'vitest';
import { enrollmentLink, parseEnrollmentLink } from './enrollment-link.js';

describe('enrollment link', () => {
  it.each([
    ['https://registry.ioc.example.vn', '7KQ2-M4XD-9PLC'],
    ['https://ioc.example.vn/registry/', 'ABCD-EFGH'],
    ['http://127.0.0.1:8780', 'a b+c/d'],
  ])('round-trips %s with code %s', (registryUrl, code) => {
    const link = enrollmentLink(registryUrl, code);
    expect(link).toMatch(/\/enroll#code=/);
    expect(parseEnrollmentLink(link)).toEqual({ ok: true, registryUrl: registryUrl.replace(/\/+$/, ''), code });
  });

  it('accepts the code as a query parameter too', () => {
    expect(parseEnrollmentLink('https://r.example/enroll?code=XYZ')).toEqual({ ok: true, registryUrl: 'https://r.example', code: 'XYZ' });
  });

  it.each([
    ['not a url', /enrollment link/],
    ['ftp://r.example/enroll#code=1', /http/],
    ['https://r.example/enroll', /no code/],
    ['https://r.example/other#code=1', /\/enroll/],
  ])('refuses %s plainly', (text, message) => {
    const r = parseEnrollmentLink(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });
});
