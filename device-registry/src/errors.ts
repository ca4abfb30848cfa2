/**
 * The registry's error catalogue. Every 4xx/5xx answer is `{ error: { code, message, field? } }`
 * with one of these codes; README.md lists the same codes (a test keeps the two in step).
 */
export const ERRORS = {
  REG_VALIDATION: { status: 400, summary: 'A parameter, query or body field is missing, of the wrong type or out of range; `field` names it.' },
  REG_MALFORMED_BODY: { status: 400, summary: 'The body is not valid JSON.' },
  REG_BAD_REQUEST: { status: 400, summary: 'The request cannot be read for another reason (headers, encoding).' },
  REG_UNAUTHORIZED: { status: 401, summary: 'No credentials, or unknown or revoked ones (Bearer token or session cookie for operators, Basic for gateways), or an expired session.' },
  REG_BAD_CREDENTIALS: { status: 401, summary: 'Sign-in: unknown username or wrong password (the same answer for both), or a disabled account.' },
  REG_CODE_INVALID: { status: 401, summary: 'The enrollment code is not one the registry issued (or was replaced by a newer one).' },
  REG_CSRF: { status: 403, summary: 'A request authenticated by the session cookie with an unsafe method (POST, PUT, PATCH, DELETE) lacks the `x-csrf-token` header equal to the session\'s token.' },
  REG_FORBIDDEN: { status: 403, summary: 'The credentials are valid but their role (or gateway identity) does not allow this.' },
  REG_NOT_FOUND: { status: 404, summary: 'The site, gateway, device, line, camera, config version, rollout, token or route does not exist.' },
  REG_METHOD_NOT_ALLOWED: { status: 405, summary: 'The route exists but not with this method; `Allow` lists the methods it has.' },
  REG_REQUEST_TIMEOUT: { status: 408, summary: 'The request did not arrive completely in time.' },
  REG_CONFLICT: { status: 409, summary: 'The record already exists, or is still in use by another record.' },
  REG_LIVE_NO_STREAM: { status: 409, summary: 'Live view: the gateway has not reported a usable RTSP stream URI for this camera (or profile) yet.' },
  REG_CODE_USED: { status: 409, summary: 'The enrollment code was already used; issue a new one.' },
  REG_CODE_EXPIRED: { status: 410, summary: 'The enrollment code has expired; issue a new one.' },
  REG_PAYLOAD_TOO_LARGE: { status: 413, summary: 'The body is larger than the registry accepts.' },
  REG_URI_TOO_LONG: { status: 414, summary: 'The URL, or one path segment of it, is longer than the registry accepts.' },
  REG_UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'The body is not application/json.' },
  REG_EXPECTATION_FAILED: { status: 417, summary: 'The request has an `Expect` header other than `100-continue`.' },
  REG_CONFIG_INVALID: { status: 422, summary: 'The configuration document (composed or given) fails the agent schema; `problems` lists every path.' },
  REG_RATE_LIMITED: { status: 429, summary: 'Too many enrollment attempts or failed gateway logins from this address; retry after `Retry-After` seconds.' },
  REG_ACCOUNT_LOCKED: { status: 429, summary: 'Sign-in: too many wrong passwords for this account lately; retry after `Retry-After` seconds.' },
  REG_HEADERS_TOO_LARGE: { status: 431, summary: 'The request headers are larger than the registry accepts.' },
  REG_INTERNAL: { status: 500, summary: 'A bug or a storage failure; the log has the details under the request id.' },
  REG_BROKER_UNAVAILABLE: { status: 503, summary: 'The broker did not take the configuration or credentials; nothing was lost, retry.' },
  REG_LIVE_UNAVAILABLE: { status: 503, summary: 'Live view cannot run on this registry: no ffmpeg, or too many live streams at once.' },
  REG_SHUTTING_DOWN: { status: 503, summary: 'The registry is stopping; retry once it is back (or against another instance).' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type RegistryErrorCode = keyof typeof ERRORS;

export interface ProblemItem {
  path: string;
  message: string;
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly status: number;
  readonly field: string | undefined;
  readonly problems: ProblemItem[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    extra: { field?: string; problems?: ProblemItem[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.status = ERRORS[code].status;
    this.field = extra.field;
    this.problems = extra.problems;
    this.headers = extra.headers;
  }
}

export function notFound(what: string, id: string | number): RegistryError {
  return new RegistryError('REG_NOT_FOUND', `${what} "${id}" not found`);
}

export function invalid(field: string, message: string): RegistryError {
  return new RegistryError('REG_VALIDATION', `${field}: ${message}`, { field });
}

export function conflict(message: string, field?: string): RegistryError {
  return field === undefined ? new RegistryError('REG_CONFLICT', message) : new RegistryError('REG_CONFLICT', `${field}: ${message}`, { field });
}

/** True for a UNIQUE or PRIMARY KEY violation on SQLite or PostgreSQL. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
