import { maxHeaderSize, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { ERRORS, RegistryError, type RegistryErrorCode } from '../errors.js';

/** Longest URL (path and query) the registry reads; longer ones are a 414. */
export const MAX_URL_LENGTH = 8192;
/**
 * Longest path segment matched as a parameter (Fastify's default is 100). Ids are at most 128
 * characters by the schemas, so a longer one still reaches validation and gets a 400 naming the
 * field; only absurd ones are a 414.
 */
export const MAX_PARAM_LENGTH = 1024;

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `/points/0/name` -> `.points[0].name` */
function jsonPointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : /^[A-Za-z_$][\w$]*$/.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`))
    .join('');
}

/** A request-validation failure as `{ field, message }`, e.g. `body.unitId: must be <= 247`. */
export function describeValidation(context: string, issue: AjvIssue): { field: string; message: string } {
  let field = context + jsonPointerToPath(issue.instancePath ?? '');
  let text = issue.message ?? 'is invalid';
  const p = issue.params ?? {};
  if (issue.keyword === 'required' && typeof p.missingProperty === 'string') {
    field += `.${p.missingProperty}`;
    text = 'is required';
  } else if (issue.keyword === 'additionalProperties' && typeof p.additionalProperty === 'string') {
    field += `.${p.additionalProperty}`;
    text = 'is not a known field';
  } else if (issue.keyword === 'enum' && Array.isArray(p.allowedValues)) {
    text = `must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (issue.keyword === 'pattern' && typeof p.pattern === 'string') {
    text = `must match ${p.pattern}`;
  }
  return { field, message: `${field}: ${text}` };
}

/** The documented error body: `{ error: { code, message, field?, problems? } }`. */
export function errorBody(code: RegistryErrorCode, message: string, extra: { field?: string | undefined; problems?: unknown } = {}) {
  return { error: { code, message, ...(extra.field !== undefined && { field: extra.field }), ...(extra.problems !== undefined && { problems: extra.problems }) } };
}

function send(reply: FastifyReply, code: RegistryErrorCode, message: string, extra: { field?: string | undefined; problems?: unknown; headers?: Record<string, string> | undefined } = {}): FastifyReply {
  if (extra.headers) for (const [k, v] of Object.entries(extra.headers)) reply.header(k, v);
  return reply.code(ERRORS[code].status).send(errorBody(code, message, extra));
}

const FASTIFY_CODES: Record<string, RegistryErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'REG_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REG_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'REG_MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REG_MALFORMED_BODY',
};

/**
 * Every error becomes `{ error: { code, message, field? } }`: bad input a 4xx naming the field,
 * anything unexpected a 500 with the request id, never a stack trace.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | RegistryError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof RegistryError) {
      if (err.status >= 500) req.log.error({ err }, err.message);
      return send(reply, err.code, err.message, { field: err.field, problems: err.problems, headers: err.headers });
    }
    const fe = err as FastifyError;
    if (fe.validation && fe.validation.length > 0) {
      const { field, message } = describeValidation(fe.validationContext ?? 'request', fe.validation[0] as AjvIssue);
      return send(reply, 'REG_VALIDATION', message, { field });
    }
    const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped) return send(reply, mapped, fe.message);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return send(reply, 'REG_BAD_REQUEST', fe.message);
    req.log.error({ err }, 'request failed');
    return send(reply, 'REG_INTERNAL', `internal error; the registry log has the details under request id ${req.id}`);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    const allowed = METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length > 0) return send(reply, 'REG_METHOD_NOT_ALLOWED', `${req.method} is not a method of ${path}; it has ${allowed.join(', ')}`, { headers: { allow: allowed.join(', ') } });
    return send(reply, 'REG_NOT_FOUND', `no route ${req.method} ${path}`);
  });
  // Requests still arriving on kept-alive connections while the server closes (Fastify's own
  // answer to them, return503OnClosing, has its own body shape).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Checked before authentication, so a long URL is refused the same way on every route.
  app.addHook('onRequest', async (req) => {
    if (req.url.length > MAX_URL_LENGTH) throw new RegistryError('REG_URI_TOO_LONG', `the URL has ${req.url.length} characters; the registry reads at most ${MAX_URL_LENGTH}`);
    if (closing) throw new RegistryError('REG_SHUTTING_DOWN', 'the registry is stopping; retry once it is back', { headers: { connection: 'close' } });
  });
  // Node answers an unknown `Expect` itself with an empty 417 unless someone listens.
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(errorBody('REG_EXPECTATION_FAILED', `Expect: ${String(req.headers.expect)} is not supported; only 100-continue is`));
    res.writeHead(ERRORS.REG_EXPECTATION_FAILED.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const FRAMEWORK_CODES: Record<string, { code: RegistryErrorCode; message: string }> = {
  FST_ERR_BAD_URL: { code: 'REG_BAD_REQUEST', message: 'the URL is not valid (a malformed percent-encoding?)' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'REG_URI_TOO_LONG', message: `a path segment is longer than the registry reads (${MAX_PARAM_LENGTH} characters)` },
};

/**
 * Fastify and Node answer some requests before any route or hook runs: a malformed URL or an
 * overlong path segment (the router), and requests Node's HTTP parser cannot read (headers too
 * large, a URL longer than the header limit, a malformed request line, a request that does not
 * arrive in time). These options give those answers the catalogue's body too.
 */
export function errorServerOptions(logger: FastifyBaseLogger, onUnreadable: (code: RegistryErrorCode) => void = () => undefined): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'return503OnClosing' | 'routerOptions'> {
  return {
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    return503OnClosing: false,
    frameworkErrors: (err, _req, reply) => {
      const known = FRAMEWORK_CODES[err.code];
      if (known) return void send(reply, known.code, known.message);
      logger.error({ err }, 'router failed');
      return void send(reply, 'REG_INTERNAL', 'internal error in the router; the registry log has the details');
    },
    clientErrorHandler: (err, socket) => {
      const code = answerClientError(err as unknown as ParserError, socket, logger);
      if (code) onUnreadable(code);
    },
  };
}

interface ParserError extends Error {
  code?: string;
  rawPacket?: Buffer;
}

/**
 * Node's HTTP parser counts the request line into the header limit, so a URL longer than
 * `maxHeaderSize` also arrives as HPE_HEADER_OVERFLOW. The bytes it was parsing tell them apart:
 * when they start with a request line that has not ended (or ended long), the URL is at fault.
 */
function urlOverflowed(raw: Buffer | undefined): boolean {
  if (!raw) return false;
  const head = raw.subarray(0, Math.min(raw.length, maxHeaderSize + 64)).toString('latin1');
  const m = /^[A-Z]+ (\S*)/.exec(head);
  if (!m) return false;
  const end = head.indexOf('\r\n');
  return end < 0 || (m[1] ?? '').length > MAX_URL_LENGTH;
}

/** Answers what the parser could not read; returns the code answered (none when the client is gone). */
function answerClientError(err: ParserError, socket: Socket, logger: FastifyBaseLogger): RegistryErrorCode | undefined {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return undefined;
  let code: RegistryErrorCode;
  let message: string;
  if (err.code === 'HPE_HEADER_OVERFLOW' && urlOverflowed(err.rawPacket)) {
    code = 'REG_URI_TOO_LONG';
    message = `the URL is longer than the registry reads (${MAX_URL_LENGTH} characters)`;
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    code = 'REG_HEADERS_TOO_LARGE';
    message = `the request headers are larger than the registry reads (${maxHeaderSize} bytes)`;
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'HPE_HEADERS_TIMEOUT') {
    code = 'REG_REQUEST_TIMEOUT';
    message = 'the request did not arrive completely in time';
  } else {
    code = 'REG_BAD_REQUEST';
    message = `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'}: ${err.message.replace(/^Parse Error: /, '')})`;
  }
  logger.debug({ err, code }, 'unreadable request refused');
  const status = ERRORS[code].status;
  const body = JSON.stringify(errorBody(code, message));
  // end(), not destroy(): closing with unread bytes sends a TCP reset, which can make the client
  // drop the answer before reading it. The socket is destroyed once the client hangs up, or soon.
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 2000).unref();
  return code;
}
