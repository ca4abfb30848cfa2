/**
 * The enrollment link: what the QR code on a technician's screen carries and what
 * `cityedge-agent enroll` accepts, so that scanning or pasting it is enough.
 *
 *   https://registry.ioc.example.vn/enroll#code=7KQ2-M4XD-9PLC
 *
 * The registry URL (with any path prefix it is served under) followed by `/enroll`, and the
 * one-time code in the fragment: a phone that opens the link never sends the code to a server
 * in the request line, so it does not end up in access logs.
 */
const ENROLL_PATH = 'enroll';

/** The link for a registry URL (http or https, optionally under a path) and a code. */
export function enrollmentLink(registryUrl: string, code: string): string {
  return `${registryUrl.replace(/\/+$/, '')}/${ENROLL_PATH}#code=${encodeURIComponent(code)}`;
}

export type ParsedEnrollmentLink = { ok: true; registryUrl: string; code: string } | { ok: false; message: string };

/** Reads a link made by `enrollmentLink` (also with the code as a `?code=` query parameter). */
export function parseEnrollmentLink(text: string): ParsedEnrollmentLink {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { ok: false, message: 'expected an enrollment link (https://<registry>/enroll#code=<code>)' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, message: `expected an http:// or https:// link, got ${url.protocol}` };
  const code = new URLSearchParams(url.hash.replace(/^#/, '')).get('code') ?? url.searchParams.get('code');
  if (!code) return { ok: false, message: 'the link carries no code (expected #code=<code>)' };
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith(`/${ENROLL_PATH}`)) return { ok: false, message: `expected a link ending in /${ENROLL_PATH}#code=<code>` };
  const registryUrl = `${url.origin}${path.slice(0, -(ENROLL_PATH.length + 1))}`;
  return { ok: true, registryUrl, code };
}
