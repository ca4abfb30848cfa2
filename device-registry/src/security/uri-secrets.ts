/** Query parameters some cameras put credentials or tokens in (`?user=admin&password=...`). */
const SECRET_PARAM = /^(user(name)?|usr|login|pass(word|wd)?|pwd|auth.*|token|access_?token|key|api_?key|secret|sig(nature)?|session.*|credential.*)$/i;

/**
 * A URI safe to store, show and log: no user info, and the values of secret-looking query
 * parameters replaced by "***". Gateways strip URIs before they send them; the registry does it
 * again, defensively. Undefined when the text is not an absolute URI.
 */
export function stripUriSecrets(uri: string, maxLength = 1024): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return undefined;
  }
  u.username = '';
  u.password = '';
  for (const key of [...u.searchParams.keys()]) if (SECRET_PARAM.test(key)) u.searchParams.set(key, '***');
  const out = u.toString();
  return out.length > maxLength ? undefined : out;
}

/** Replaces every URI with user info in free text (ffmpeg messages) by its stripped form, and masks `secrets` anywhere. */
export function redactText(text: string, secrets: readonly (string | null | undefined)[] = []): string {
  let out = text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]*@[^\s'"<>]*/gi, (m) => stripUriSecrets(m) ?? '(uri)');
  for (const s of secrets) {
    if (!s || s.length < 3) continue;
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join('***');
  }
  return out;
}
