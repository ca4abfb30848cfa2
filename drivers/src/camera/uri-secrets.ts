/** Query parameters some cameras put credentials or tokens in (`?user=admin&password=...`). */
const SECRET_PARAM = /^(user(name)?|usr|login|pass(word|wd)?|pwd|auth.*|token|access_?token|key|api_?key|secret|sig(nature)?|session.*|credential.*)$/i;

/**
 * A URI safe to log and forward: no user info, and the values of secret-looking query
 * parameters replaced by "***". When `secrets` are given, any occurrence of them left anywhere
 * in the text is masked too (a password embedded in a path). Unparsable input gives "(invalid uri)".
 */
export function stripUriSecrets(uri: string, secrets: readonly (string | undefined)[] = []): string {
  let out: string;
  try {
    const u = new URL(uri);
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) if (SECRET_PARAM.test(key)) u.searchParams.set(key, '***');
    out = u.toString();
  } catch {
    return '(invalid uri)';
  }
  for (const s of secrets) {
    if (s && s.length >= 3) {
      out = out.split(s).join('***');
      const enc = encodeURIComponent(s);
      if (enc !== s) out = out.split(enc).join('***');
    }
  }
  return out.length > 512 ? out.slice(0, 512) : out;
}

/** The URI with its host replaced (port, path and query kept): for cameras that report an internal address. */
export function withHost(uri: string, host: string): string {
  try {
    const u = new URL(uri);
    u.hostname = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return u.toString();
  } catch {
    return uri;
  }
}
